package synth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDeterministic(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a, b := New(42, start), New(42, start)
	c := New(43, start)
	same := 0
	for range 200 {
		x, y, z := SeedJSON(a.Next()), SeedJSON(b.Next()), SeedJSON(c.Next())
		if x != y {
			t.Fatalf("same seed differs:\n%s\n%s", x, y)
		}
		if x == z {
			same++
		}
	}
	if same > 0 {
		t.Errorf("different seeds produced %d identical lines", same)
	}
}

func TestSeedJSONShape(t *testing.T) {
	g := New(1, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	routes := map[string]bool{}
	statuses := map[string]bool{}
	total := 0
	for range 20000 {
		req := g.Next()
		line := SeedJSON(req)
		total += len(line)
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, line)
		}
		for _, k := range []string{"requestId", "httpMethod", "path", "protocol", "status", "responseLength", "requestTime",
			"requestTimeEpoch", "responseLatency", "integrationLatency", "integrationStatus", "errorMessage", "stage",
			"domainName", "sourceIp", "userAgent"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("missing %s in %s", k, line)
			}
		}
		if req.Route.Host == ExecuteHost && !strings.HasPrefix(m["path"], "/"+req.Route.Stage+"/") {
			t.Errorf("execute-api path without stage prefix: %s", m["path"])
		}
		routes[req.Route.Method+" "+req.Route.Host+"/"+req.Route.Stage+req.Route.Template] = true
		statuses[m["status"][:1]] = true
	}
	if len(routes) != len(Routes) {
		t.Errorf("only %d of %d routes generated", len(routes), len(Routes))
	}
	if !statuses["2"] || !statuses["4"] || !statuses["5"] {
		t.Errorf("status classes: %v", statuses)
	}
	if avg := total / 20000; avg < 400 || avg > 560 {
		t.Errorf("average line %d bytes, want 400-560 (the seed format with all sixteen fields)", avg)
	}
}
