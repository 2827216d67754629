package discovery

import (
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/synth"
)

// TestSynthInventory checks the inventory learned from 100,000 requests of
// the synth package's shop API (no templates logged) against the routes
// that generated it. Every route is found, except those whose parameter
// takes a small fixed set of values (the twelve category slugs of
// /v1/categories/{slug}): such a set is listed value by value, as the rules
// ask, and nothing else is extra.
func TestSynthInventory(t *testing.T) {
	d := New(DefaultConfig())
	d.Add(synthRecords(t, 1, 100_000)...)
	type route struct{ method, host, template string }
	want := map[route]bool{}
	var fixed []synth.Route
	for _, r := range synth.Routes {
		if strings.Contains(r.Template, "{slug}") {
			fixed = append(fixed, r)
			continue
		}
		want[route{r.Method, r.Host, NormalizeTemplate(r.Template)}] = true
	}
	for _, e := range d.Endpoints() {
		k := route{e.Method, e.Host, NormalizeTemplate(e.Template)}
		if want[k] {
			delete(want, k)
			continue
		}
		expansion := false
		for _, r := range fixed {
			expansion = expansion || r.Method == e.Method && r.Host == e.Host && generalizes(r.Template, e.Template)
		}
		if !expansion {
			t.Errorf("extra endpoint %s %s%s", e.Method, e.Host, e.Template)
		}
	}
	for k := range want {
		t.Errorf("missing %s %s%s", k.method, k.host, k.template)
	}
	if s := d.Stats(); s.Candidates != 0 || s.Nodes > 100 {
		t.Errorf("Stats %+v", s)
	}
}
