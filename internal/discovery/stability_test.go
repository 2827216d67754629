package discovery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

// slugRoute is one route of the slug-heavy API: a template and its share.
type slugRoute struct {
	method, template string
	weight           int
}

// slugRoutes is an API whose parameters are nearly all words: blog posts,
// usernames, products and organisations with repositories, with literal
// siblings beside them. Parameter values never repeat unless skewed.
var slugRoutes = []slugRoute{
	{"GET", "/blog/{post}", 300},
	{"GET", "/blog/{post}/comments", 80},
	{"POST", "/blog/{post}/comments", 20},
	{"GET", "/blog/feed", 60},
	{"GET", "/blog/popular", 30},
	{"GET", "/u/{user}", 200},
	{"GET", "/u/{user}/followers", 40},
	{"PUT", "/u/{user}/follow", 20},
	{"GET", "/u/me", 80},
	{"GET", "/shop/products/{product}", 250},
	{"PUT", "/shop/cart/items/{product}", 40},
	{"GET", "/{org}/{repo}", 150},
	{"GET", "/{org}/{repo}/issues", 60},
	{"GET", "/{org}/{repo}/issues/{issue}", 60},
	{"GET", "/search", 50},
	{"GET", "/health", 30},
}

// slugTraffic generates n requests to slugRoutes. Word values come from a
// large vocabulary with a mild skew (skew 1 is uniform), so they keep
// arriving: the traffic that must not split into one endpoint per value.
func slugTraffic(seed uint64, n int, skew float64) []record.Record {
	r := rand.New(rand.NewPCG(seed, 99))
	words := []string{"alpha", "bravo", "cedar", "delta", "ember", "fjord", "gamma", "harbor", "indigo", "juniper",
		"kilo", "lumen", "maple", "nova", "onyx", "pixel", "quartz", "raven", "sierra", "tundra", "umber",
		"violet", "willow", "xenon", "yonder", "zephyr", "amber", "birch", "cobalt", "dune"}
	word := func() string {
		i := int(float64(len(words)) * math.Pow(r.Float64(), skew))
		return words[i]
	}
	value := func(param string) string {
		switch param {
		case "issue":
			return fmt.Sprint(1 + r.IntN(5000))
		case "post":
			return word() + "-" + word() + "-" + word() // a title slug: three words
		case "product":
			return word() + "-" + word() // "maple-onyx": a two-word name
		}
		return word() + word() // usernames, organisations, repositories
	}
	total := 0
	for _, rt := range slugRoutes {
		total += rt.weight
	}
	recs := make([]record.Record, n)
	for i := range recs {
		pick := r.IntN(total)
		rt := slugRoutes[0]
		for _, x := range slugRoutes {
			if pick < x.weight {
				rt = x
				break
			}
			pick -= x.weight
		}
		var b strings.Builder
		for seg := range strings.SplitSeq(rt.template[1:], "/") {
			b.WriteByte('/')
			if strings.HasPrefix(seg, "{") {
				b.WriteString(value(strings.Trim(seg, "{}")))
			} else {
				b.WriteString(seg)
			}
		}
		status := 200
		if r.IntN(20) == 0 {
			status = 404
		}
		recs[i] = record.Record{Method: rt.method, Host: "slugs.example.com", Path: b.String(), Status: status,
			Time: t0.UnixMilli() + int64(i)*100, LatencyMs: int64(r.IntN(200)), SourceIP: fmt.Sprint("198.51.100.", r.IntN(250))}
	}
	return recs
}

// TestSlugHeavyTrafficStaysBounded feeds 100k requests whose parameters are
// words and checks, as traffic grows, that the inventory stays the size of
// the API, that the learned trees stay small, and that in the end every
// route is there.
func TestSlugHeavyTrafficStaysBounded(t *testing.T) {
	recs := slugTraffic(1, 100_000, 1.5)
	d := New(DefaultConfig())
	maxEndpoints := 2 * len(slugRoutes)
	fed := 0
	for _, upto := range []int{100, 1000, 5000, 20_000, 50_000, 100_000} {
		d.Add(recs[fed:upto]...)
		fed = upto
		s := d.Stats()
		if s.Endpoints > maxEndpoints {
			t.Errorf("after %d requests: %d endpoints, want at most %d", upto, s.Endpoints, maxEndpoints)
		}
		if s.Nodes > 2000 {
			t.Errorf("after %d requests: %d nodes in the learned trees", upto, s.Nodes)
		}
		t.Logf("after %6d requests: %3d endpoints, %3d candidates, %4d nodes", upto, s.Endpoints, s.Candidates, s.Nodes)
	}
	var want []string
	for _, rt := range slugRoutes {
		want = append(want, rt.method+" "+NormalizeTemplate(rt.template))
	}
	var got []string
	for _, e := range d.Endpoints() {
		got = append(got, e.Method+" "+NormalizeTemplate(e.Template))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("endpoints\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAddingTrafficOnlyMerges feeds traffic in slices and checks after each
// that re-templating only merged: requests that shared an endpoint before
// still share one, and each endpoint's template is the same or more general
// than before. Every request counted so far must still be found.
func TestAddingTrafficOnlyMerges(t *testing.T) {
	sources := []struct {
		name string
		recs []record.Record
	}{
		{"slug-heavy", slugTraffic(2, 30_000, 1)},
		{"slug-heavy skewed", slugTraffic(3, 30_000, 3)},
		{"synth", synthRecords(t, 4, 30_000)},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			d := New(DefaultConfig())
			var sample []record.Record // counted requests seen so far, every 7th
			prev := map[int]Key{}
			step := len(src.recs) / 20
			for start := 0; start < len(src.recs); start += step {
				chunk := src.recs[start:min(start+step, len(src.recs))]
				d.Add(chunk...)
				for i, r := range chunk {
					if (start+i)%7 == 0 && d.cfg.count[statusClass(r.Status)] {
						sample = append(sample, r)
					}
				}
				groups := map[Key]Key{} // previous key -> current key
				for i, r := range sample {
					d.mu.Lock()
					cur, _, ok := d.lookup(&r)
					d.mu.Unlock()
					if !ok {
						t.Fatalf("after %d requests: %s %s is no longer found", start+len(chunk), r.Method, r.Path)
					}
					if p, seen := prev[i]; seen {
						if !generalizes(cur.Template, p.Template) {
							t.Fatalf("%s %s: template %s became %s, not more general", r.Method, r.Path, p.Template, cur.Template)
						}
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

// generalizes reports whether template a matches everything b does: same
// number of segments, each equal or a parameter in a.
func generalizes(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] && !isParamSegment(as[i]) {
			return false
		}
	}
	return true
}
