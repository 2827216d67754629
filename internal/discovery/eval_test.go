package discovery_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/discovery/evaluation"
)

var evalSeeds = flag.Int("eval.seeds", 1, "TestEvaluation: also check this many more seeds (mean F1 only)")

// TestEvaluation keeps the published bar: on traffic generated from the
// route lists of public APIs, discovery recovers the (method, template)
// pairs with F1 of at least 0.95 on each API.
func TestEvaluation(t *testing.T) {
	apis, err := evaluation.LoadDir("testdata/routes")
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) < 4 {
		t.Fatalf("%d route lists, want at least 4", len(apis))
	}
	var results []evaluation.Result
	for _, api := range apis {
		t.Run(api.Name, func(t *testing.T) {
			res := evaluation.Run(api, evaluation.DefaultOptions(), discovery.DefaultConfig())
			results = append(results, res)
			if res.F1 < 0.95 {
				t.Errorf("F1 %.3f (P %.3f, R %.3f) < 0.95\nmissing: %s\nextra: %s", res.F1, res.Precision, res.Recall,
					strings.Join(res.Missing, ", "), strings.Join(res.Extra, ", "))
			}
		})
	}
	var b strings.Builder
	if err := evaluation.WriteTable(&b, results, false); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if *evalSeeds > 1 {
		opt := evaluation.DefaultOptions()
		opt.Seed++
		for _, s := range evaluation.Sweep(apis, opt, *evalSeeds, discovery.DefaultConfig()) {
			if s.MeanF1 < 0.95 {
				t.Errorf("%s: mean F1 %.3f over %d seeds", s.API, s.MeanF1, s.Seeds)
			}
		}
	}
}

// TestEvaluationTrafficOnlyMerges replays each API's evaluation traffic in
// slices and checks that requests which shared an endpoint keep sharing
// one, whatever re-templating happened in between.
func TestEvaluationTrafficOnlyMerges(t *testing.T) {
	apis, err := evaluation.LoadDir("testdata/routes")
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range apis {
		for seed := range uint64(3) {
			t.Run(fmt.Sprint(api.Name, "/", seed), func(t *testing.T) {
				opt := evaluation.DefaultOptions()
				opt.Seed = seed + 1
				recs := evaluation.Generate(api, opt)
				d := discovery.New(discovery.DefaultConfig())
				prev := map[int]discovery.Key{}
				step := max(len(recs)/15, 1)
				for start := 0; start < len(recs); start += step {
					d.Add(recs[start:min(start+step, len(recs))]...)
					groups := map[discovery.Key]discovery.Key{}
					for i := range min(start+step, len(recs)) {
						if recs[i].Status/100 != 2 {
							continue
						}
						cur, ok := d.Lookup(recs[i])
						if !ok {
							t.Fatalf("%s %s is no longer found", recs[i].Method, recs[i].Path)
						}
						if p, seen := prev[i]; seen {
							if g, ok := groups[p]; ok && g != cur {
								t.Fatalf("requests of %s %s split into %s and %s", p.Method, p.Template, g.Template, cur.Template)
							}
							groups[p] = cur
						}
						prev[i] = cur
					}
				}
			})
		}
	}
}
