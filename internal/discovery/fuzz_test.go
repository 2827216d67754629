package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

// fuzzWord returns the i-th word of a sequence of distinct words: a, b, …,
// z, ba, bb, …
func fuzzWord(i int) string {
	var b []byte
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			break
		}
	}
	slices.Reverse(b)
	return string(b)
}

// FuzzDiscoverer feeds records made from the input, each line a path
// pattern repeated many times with every '*' replaced by a fresh word (so
// the fuzzer can build high-cardinality positions), and checks the
// invariants of the inventory.
func FuzzDiscoverer(f *testing.F) {
	f.Add("users/*\nusers/me\nusers/*/orders/1", uint8(30))
	f.Add("articles/*\narticles/feed\narticles/*/comments\n*/*\nhealth", uint8(80))
	f.Add("v1/*/x\nv2/*/x\n*", uint8(5))
	f.Add("rest/api/3/issue/P-1\nrest/api/3/*", uint8(40))
	f.Add("a//b/\n/\n%zz\n{id}\n*.*", uint8(3))
	f.Fuzz(fuzzOne)
}

// fuzzOne is FuzzDiscoverer's check of one input.
func fuzzOne(t *testing.T, data string, reps uint8) {
	{
		if len(data) > 2000 {
			return
		}
		lines := strings.Split(data, "\n")
		// Bounded work per input keeps the fuzzer fast: at most ~5000 records.
		n := min(1+int(reps)%60, max(1, 5000/len(lines)))
		methods := []string{"GET", "POST", "PUT", "DELETE", "OPTIONS"}
		d := New(DefaultConfig())
		var counted []record.Record
		w := 0
		for rep := range n {
			for i, line := range lines {
				var p strings.Builder
				p.WriteByte('/')
				for _, c := range []byte(line) {
					if c == '*' {
						p.WriteString(fuzzWord(w))
						w++
					} else {
						p.WriteByte(c)
					}
				}
				status := 200
				if (rep+i)%9 == 8 {
					status = 404
				}
				r := record.Record{Method: methods[(i+len(line))%len(methods)], Host: "fuzz.test", Path: p.String(),
					Status: status, Time: int64(1 + rep*1000 + i), SourceIP: "192.0.2.1"}
				d.Add(r)
				if _, ok := splitPath(r.Path, nil); ok && status == 200 && r.Method != "OPTIONS" && len(r.Path) <= maxPathLen {
					counted = append(counted, r)
				}
			}
		}
		s := d.Stats()
		if sum := s.Counted + s.Attached + s.Skipped.Method + s.Skipped.Loopback + s.Skipped.Status + s.Skipped.Invalid; sum != s.Records {
			t.Fatalf("Stats do not add up: %+v", s)
		}
		eps := d.Endpoints()
		if len(eps) != s.Endpoints {
			t.Fatalf("%d endpoints, Stats says %d", len(eps), s.Endpoints)
		}
		ids := map[string]bool{}
		for _, e := range eps {
			if !strings.HasPrefix(e.Template, "/") || e.Counted < 2 || e.Requests < e.Counted {
				t.Fatalf("endpoint %+v", e)
			}
			if ids[e.ID] {
				t.Fatalf("duplicate id %s (%s %s)", e.ID, e.Method, e.Template)
			}
			ids[e.ID] = true
			segs := strings.Split(e.Template, "/")[1:]
			for _, p := range e.Params {
				if p.Index >= len(segs) || segs[p.Index] != "{"+p.Name+"}" {
					t.Fatalf("param %+v does not point at its segment in %s", p, e.Template)
				}
			}
		}
		if !slices.IsSortedFunc(eps, func(a, b Endpoint) int { return strings.Compare(a.Template, b.Template) }) {
			t.Fatal("endpoints are not sorted by template")
		}
		for _, r := range counted {
			d.mu.Lock()
			_, _, ok := d.lookup(&r)
			d.mu.Unlock()
			if !ok {
				t.Fatalf("counted request %s %s is not found", r.Method, r.Path)
			}
		}
	}
}
