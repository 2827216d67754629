package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"
)

// Totals reads EMF lines (what Set.Write produces) and keeps the sum of
// every metric they declare, by name. The local pipeline and tests hand it
// to a function as its metrics writer to count what the function did,
// without parsing logs. Lines that are not EMF are ignored. Safe for
// concurrent use.
type Totals struct {
	mu   sync.Mutex
	sums map[string]float64
}

// Write adds the metrics of every EMF line in b. It never fails.
func (t *Totals) Write(b []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &doc) != nil {
			continue
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Metrics []struct{ Name string }
			}
		}
		if json.Unmarshal(doc["_aws"], &meta) != nil {
			continue
		}
		t.mu.Lock()
		if t.sums == nil {
			t.sums = map[string]float64{}
		}
		for _, d := range meta.CloudWatchMetrics {
			for _, m := range d.Metrics {
				var v float64
				if json.Unmarshal(doc[m.Name], &v) == nil {
					t.sums[m.Name] += v
				}
			}
		}
		t.mu.Unlock()
	}
	return len(b), nil
}

// Int returns the sum of metric name so far, as an int (0 if never seen).
func (t *Totals) Int(name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.sums[name])
}
