package evaluation

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/discovery"
)

func TestParseRoutes(t *testing.T) {
	api, err := ParseRoutes("demo", strings.NewReader(`# Demo API, v1
# from somewhere
# host: api.demo.test

GET /things
GET /things/{thingId}
  DELETE /things/{thingId}  
`))
	if err != nil {
		t.Fatal(err)
	}
	want := API{Name: "demo", Source: "Demo API, v1", Host: "api.demo.test", Routes: []Route{
		{"GET", "/things"}, {"GET", "/things/{thingId}"}, {"DELETE", "/things/{thingId}"}}}
	if api.Name != want.Name || api.Source != want.Source || api.Host != want.Host || !slices.Equal(api.Routes, want.Routes) {
		t.Errorf("got %+v, want %+v", api, want)
	}
	for name, text := range map[string]string{
		"no host":     "GET /a\n",
		"no routes":   "# host: x\n",
		"no path":     "# host: x\nGET\n",
		"relative":    "# host: x\nGET a/b\n",
		"lower case":  "# host: x\nget /a\n",
		"query":       "# host: x\nGET /a?b=1\n",
		"extra field": "# host: x\nGET /a b\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRoutes(name, strings.NewReader(text)); !errors.Is(err, ErrRouteList) {
				t.Errorf("err = %v, want ErrRouteList", err)
			}
		})
	}
}

func TestRouteLists(t *testing.T) {
	apis, err := LoadDir("../testdata/routes")
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string][2]int{"conduit": {15, 25}, "github": {60, 130}, "jira": {40, 120}, "stripe": {50, 110}}
	for _, api := range apis {
		lim, ok := sizes[api.Name]
		if !ok {
			t.Errorf("unexpected route list %s", api.Name)
			continue
		}
		if n := len(api.Routes); n < lim[0] || n > lim[1] {
			t.Errorf("%s has %d routes, want %d to %d", api.Name, n, lim[0], lim[1])
		}
		if api.Source == "" {
			t.Errorf("%s has no source comment", api.Name)
		}
		seen := map[Route]bool{}
		for _, r := range api.Routes {
			if seen[r] {
				t.Errorf("%s lists %s %s twice", api.Name, r.Method, r.Template)
			}
			seen[r] = true
		}
	}
	if _, err := LoadDir(t.TempDir()); !errors.Is(err, ErrRouteList) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	apis, err := LoadDir("../testdata/routes")
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range apis {
		t.Run(api.Name, func(t *testing.T) {
			opt := DefaultOptions()
			a, b := Generate(api, opt), Generate(api, opt)
			if !slices.Equal(a, b) {
				t.Fatal("same options, different traffic")
			}
			opt.Seed++
			if slices.Equal(a, Generate(api, opt)) {
				t.Fatal("different seeds, same traffic")
			}
			perShape := map[string]int{}
			for _, r := range a {
				if r.Template != "" || strings.ContainsAny(r.Path, "{}") || r.Host != api.Host {
					t.Fatalf("record %+v", r)
				}
				perShape[r.Method+" "+shape(r.Path)]++
			}
			// Every route got traffic: at least MinPerRoute requests of its shape.
			for _, rt := range api.Routes {
				if n := perShape[rt.Method+" "+shape(rt.Template)]; n < opt.MinPerRoute {
					t.Errorf("%s %s: %d requests of its shape", rt.Method, rt.Template, n)
				}
			}
			if len(a) < len(api.Routes)*opt.MinPerRoute || len(a) > len(api.Routes)*opt.MaxPerRoute {
				t.Errorf("%d requests for %d routes", len(a), len(api.Routes))
			}
		})
	}
}

// shape is the number of segments of a path.
func shape(p string) string { return strings.Repeat("/", strings.Count(p, "/")) }

func TestScore(t *testing.T) {
	api := API{Name: "x", Host: "h", Routes: []Route{{"GET", "/a"}, {"GET", "/a/{id}"}, {"POST", "/a"}, {"GET", "/b/{x}/c"}}}
	eps := []discovery.Endpoint{
		{Key: discovery.Key{Host: "h", Method: "GET", Template: "/a"}},
		{Key: discovery.Key{Host: "h", Method: "GET", Template: "/a/{aId}"}},    // names differ: a match
		{Key: discovery.Key{Host: "h", Method: "GET", Template: "/b/thing/c"}},  // literal for a parameter
		{Key: discovery.Key{Host: "other", Method: "POST", Template: "/a"}},     // another host
		{Key: discovery.Key{Host: "h", Method: "DELETE", Template: "/a/{aId}"}}, // no such route
	}
	res := Score(api, eps)
	if res.TruePositives != 2 || res.Endpoints != 4 || res.Routes != 4 {
		t.Errorf("%+v", res)
	}
	if res.Precision != 0.5 || res.Recall != 0.5 || res.F1 != 0.5 {
		t.Errorf("P %v R %v F1 %v, want 0.5 each", res.Precision, res.Recall, res.F1)
	}
	if want := []string{"GET /b/{}/c", "POST /a"}; !slices.Equal(res.Missing, want) {
		t.Errorf("Missing %q, want %q", res.Missing, want)
	}
	if want := []string{"DELETE /a/{}", "GET /b/thing/c"}; !slices.Equal(res.Extra, want) {
		t.Errorf("Extra %q, want %q", res.Extra, want)
	}
	var b strings.Builder
	if err := WriteTable(&b, []Result{res}, true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"precision", "0.500", "x missing: POST /a", "x extra:   GET /b/thing/c"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
	if empty := Score(api, nil); empty.Precision != 0 || empty.F1 != 0 {
		t.Errorf("no endpoints: %+v", empty)
	}
}

func TestSweep(t *testing.T) {
	api := API{Name: "conduit", Host: "h", Routes: []Route{{"GET", "/api/articles/{slug}"}, {"GET", "/api/articles/feed"}}}
	sums := Sweep([]API{api}, DefaultOptions(), 3, discovery.DefaultConfig())
	if len(sums) != 1 || sums[0].Seeds != 3 || sums[0].MinF1 > sums[0].MeanF1 {
		t.Errorf("%+v", sums)
	}
	var b strings.Builder
	if err := WriteSeedTable(&b, sums); err != nil || !strings.Contains(b.String(), "mean F1") {
		t.Errorf("table %q, err %v", b.String(), err)
	}
}
