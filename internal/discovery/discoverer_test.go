package discovery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/record"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// req returns a successful GET-like record; change what the test needs.
func req(method, path string, status int) record.Record {
	return record.Record{Method: method, Host: "api.example.com", Path: path, Status: status,
		Time: t0.UnixMilli(), LatencyMs: 20, ResponseBytes: 512, SourceIP: "198.51.100.7", Stage: "prod"}
}

// discover runs recs through a Discoverer with cfg and returns the
// "METHOD template" of its endpoints.
func discover(t *testing.T, cfg Config, recs []record.Record) (*Discoverer, []string) {
	t.Helper()
	d := New(cfg)
	d.Add(recs...)
	var out []string
	for _, e := range d.Endpoints() {
		out = append(out, e.Method+" "+e.Template)
	}
	return d, out
}

// repeat returns n copies of r with paths from pathOf(i) and times a second apart.
func repeat(n int, r record.Record, pathOf func(i int) string) []record.Record {
	out := make([]record.Record, n)
	for i := range out {
		out[i] = r
		out[i].Path = pathOf(i)
		out[i].Time = r.Time + int64(i)*1000
		out[i].SourceIP = fmt.Sprintf("198.51.100.%d", i%200)
	}
	return out
}

func same(path string) func(int) string { return func(int) string { return path } }

func TestStatusClasses(t *testing.T) {
	tests := []struct {
		name    string
		classes []int
		recs    []record.Record
		want    []string
		skipped int64
	}{
		{"2xx makes an endpoint", nil,
			[]record.Record{req("GET", "/a", 200), req("GET", "/a", 204)}, []string{"GET /a"}, 0},
		{"errors alone do not", nil,
			[]record.Record{req("GET", "/b", 404), req("GET", "/b", 500), req("GET", "/b", 404)}, nil, 3},
		{"3xx not counted by default", nil,
			[]record.Record{req("GET", "/r", 302), req("GET", "/r", 301)}, nil, 2},
		{"3xx counted when configured", []int{2, 3},
			[]record.Record{req("GET", "/r", 302), req("GET", "/r", 301)}, []string{"GET /r"}, 0},
		{"status not logged is not counted", nil,
			[]record.Record{req("GET", "/z", 0), req("GET", "/z", 0)}, nil, 2},
		{"errors before the first success are not kept", nil,
			[]record.Record{req("GET", "/c", 500), req("GET", "/c", 200), req("GET", "/c", 200)}, []string{"GET /c"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.classes != nil {
				cfg.CountStatusClasses = tt.classes
			}
			d, got := discover(t, cfg, tt.recs)
			if !slices.Equal(got, tt.want) {
				t.Errorf("endpoints %q, want %q", got, tt.want)
			}
			if s := d.Stats(); s.Skipped.Status != tt.skipped {
				t.Errorf("Skipped.Status = %d, want %d", s.Skipped.Status, tt.skipped)
			}
		})
	}
}

func TestErrorsCountInStats(t *testing.T) {
	recs := []record.Record{req("GET", "/orders/1", 200), req("GET", "/orders/2", 200),
		req("GET", "/orders/3", 404), req("GET", "/orders/4", 500), req("GET", "/orders/5", 503)}
	d, got := discover(t, DefaultConfig(), recs)
	if !slices.Equal(got, []string{"GET /orders/{orderId}"}) {
		t.Fatalf("endpoints %q", got)
	}
	e := d.Endpoints()[0]
	if e.Requests != 5 || e.Counted != 2 {
		t.Errorf("Requests %d, Counted %d; want 5 and 2", e.Requests, e.Counted)
	}
	want := map[string]int64{"2xx": 2, "4xx": 1, "5xx": 2}
	if fmt.Sprint(e.StatusClasses) != fmt.Sprint(want) {
		t.Errorf("StatusClasses %v, want %v", e.StatusClasses, want)
	}
	if s := d.Stats(); s.Counted != 2 || s.Attached != 3 || s.Records != 5 {
		t.Errorf("Stats %+v", s)
	}
}

func TestSkips(t *testing.T) {
	deep := "/" + strings.Repeat("a/", maxDepth+1)
	tests := []struct {
		name   string
		cfg    func(*Config)
		rec    record.Record
		kept   bool
		reason func(Skipped) int64
	}{
		{"OPTIONS", nil, req("OPTIONS", "/a", 200), false, func(s Skipped) int64 { return s.Method }},
		{"HEAD", nil, req("head", "/a", 200), false, func(s Skipped) int64 { return s.Method }},
		{"custom skip", func(c *Config) { c.SkipMethods = []string{"trace"} }, req("TRACE", "/a", 200), false,
			func(s Skipped) int64 { return s.Method }},
		{"HEAD when not skipped", func(c *Config) { c.SkipMethods = nil }, req("HEAD", "/a", 200), true, nil},
		{"localhost", nil, withHost(req("GET", "/a", 200), "LOCALHOST:8080"), false, func(s Skipped) int64 { return s.Loopback }},
		{"127.0.0.2", nil, withHost(req("GET", "/a", 200), "127.0.0.2"), false, func(s Skipped) int64 { return s.Loopback }},
		{"::1", nil, withHost(req("GET", "/a", 200), "[::1]:443"), false, func(s Skipped) int64 { return s.Loopback }},
		{"loopback kept when asked", func(c *Config) { c.SkipLoopback = false }, withHost(req("GET", "/a", 200), "localhost"), true, nil},
		{"no method", nil, req("", "/a", 200), false, func(s Skipped) int64 { return s.Invalid }},
		{"relative path", nil, req("GET", "a/b", 200), false, func(s Skipped) int64 { return s.Invalid }},
		{"no path", nil, req("GET", "", 200), false, func(s Skipped) int64 { return s.Invalid }},
		{"too deep", nil, req("GET", deep, 200), false, func(s Skipped) int64 { return s.Invalid }},
		{"too long", nil, req("GET", "/"+strings.Repeat("x", maxPathLen), 200), false, func(s Skipped) int64 { return s.Invalid }},
		{"root", nil, req("GET", "/", 200), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			d, got := discover(t, cfg, []record.Record{tt.rec, tt.rec})
			if kept := len(got) == 1; kept != tt.kept {
				t.Fatalf("endpoints %q, want kept=%v", got, tt.kept)
			}
			if tt.reason != nil {
				if n := tt.reason(d.Stats().Skipped); n != 2 {
					t.Errorf("skip reason counted %d, want 2 (%+v)", n, d.Stats().Skipped)
				}
			}
		})
	}
}

func withHost(r record.Record, host string) record.Record {
	r.Host = host
	return r
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"localhost": true, "localhost.": true, "app.localhost": true, "localhost:3000": true,
		"127.0.0.1": true, "127.1.2.3:80": true, "[::1]": true, "[::1]:8080": true, "::1": true,
		"::ffff:127.0.0.1": true, "[::ffff:127.0.0.1]:80": true,
		"": false, "api.example.com": false, "localhost.example.com": false, "128.0.0.1": false,
		"10.0.0.1": false, "[2001:db8::1]": false, "127.example.com": false, "[::1": false,
	}
	for host, want := range tests {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestTypedSegments(t *testing.T) {
	tests := []struct {
		a, b     string
		template string
		typ      string
	}{
		{"/users/123e4567-e89b-12d3-a456-426614174000", "/users/9f8b2c1d-0000-4000-8000-000000000001", "/users/{userId}", TypeUUID},
		{"/orders/1001", "/orders/1002", "/orders/{orderId}", TypeInteger},
		{"/prices/3.5", "/prices/12.25", "/prices/{priceId}", TypeNumber},
		{"/commits/9b2c7d1e0f3a", "/commits/0aa1b2c3d4e5", "/commits/{commitId}", TypeHex},
		{"/reports/2026-03-04", "/reports/2026-03-05", "/reports/{date}", TypeDate},
		{"/subscribers/jane@example.org", "/subscribers/joe@example.com", "/subscribers/{email}", TypeEmail},
		{"/customers/cus_NffrFeUfNV2Hib", "/customers/cus_Q1w2E3r4T5y6U7", "/customers/{customerId}", TypeID},
		{"/issue/PROJ-1", "/issue/OPS-22", "/issue/{issueId}", TypeID},
		{"/hosts/192.0.2.1", "/hosts/192.0.2.200", "/hosts/{ip}", TypeIP},
		{"/v1/orders/ord_3fa9c2d1e0b7aa/items/7", "/v1/orders/ord_99a1c2d1e0b7ff/items/8", "/v1/orders/{orderId}/items/{itemId}", TypeInteger},
		{"/1001", "/1002", "/{id}", TypeInteger},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			d, got := discover(t, DefaultConfig(), []record.Record{req("GET", tt.a, 200), req("GET", tt.b, 200)})
			if !slices.Equal(got, []string{"GET " + tt.template}) {
				t.Fatalf("endpoints %q, want GET %s", got, tt.template)
			}
			e := d.Endpoints()[0]
			last := e.Params[len(e.Params)-1]
			if last.Type != tt.typ {
				t.Errorf("param %+v, want type %s", last, tt.typ)
			}
			if segs := strings.Split(e.Template, "/")[1:]; segs[last.Index] != "{"+last.Name+"}" {
				t.Errorf("param %+v does not point at its segment in %s", last, e.Template)
			}
		})
	}
}

func TestLiteralsBesideTypedParameters(t *testing.T) {
	var recs []record.Record
	for i := range 40 {
		recs = append(recs,
			req("GET", fmt.Sprintf("/users/%08x-0000-4000-8000-%012x", i, i), 200),
			req("GET", "/users/me", 200),
			req("GET", fmt.Sprintf("/repos/issues/%d", 100+i), 200),
			req("GET", "/repos/issues/comments", 200),
			req("GET", "/repos/issues/events", 200),
		)
	}
	_, got := discover(t, DefaultConfig(), recs)
	want := []string{"GET /repos/issues/comments", "GET /repos/issues/events", "GET /repos/issues/{issueId}",
		"GET /users/me", "GET /users/{userId}"}
	if !slices.Equal(got, want) {
		t.Errorf("endpoints\n%q\nwant\n%q", got, want)
	}
}

func TestFixedSetsStayLiteral(t *testing.T) {
	resources := []string{"customers", "charges", "invoices", "refunds", "payouts", "products", "prices",
		"events", "files", "disputes", "balance", "tokens", "sources", "quotes", "topups", "mandates", "coupons"}
	r := rand.New(rand.NewPCG(1, 1))
	var recs []record.Record
	for range 5000 {
		v := []string{"v1", "v2"}[r.IntN(2)]
		recs = append(recs, req("GET", "/"+v+"/"+resources[r.IntN(len(resources))], 200))
	}
	_, got := discover(t, DefaultConfig(), recs)
	if len(got) != 2*len(resources) {
		t.Fatalf("%d endpoints, want %d literal ones: %q", len(got), 2*len(resources), got)
	}
	for _, g := range got {
		if strings.Contains(g, "{") {
			t.Errorf("fixed set templated: %s", g)
		}
	}
}

func TestSingleValuedParameterIsLiteral(t *testing.T) {
	var recs []record.Record
	for i := range 60 {
		recs = append(recs, req("GET", fmt.Sprintf("/rest/api/3/issue/PROJ-%d", i+1), 200),
			req("GET", "/rest/api/3/myself", 200))
	}
	_, got := discover(t, DefaultConfig(), recs[:10])
	if want := []string{"GET /rest/api/{apiId}/issue/{issueId}", "GET /rest/api/{apiId}/myself"}; !slices.Equal(got, want) {
		t.Errorf("early endpoints %q, want %q", got, want)
	}
	_, got = discover(t, DefaultConfig(), recs)
	if want := []string{"GET /rest/api/3/issue/{issueId}", "GET /rest/api/3/myself"}; !slices.Equal(got, want) {
		t.Errorf("endpoints %q, want %q", got, want)
	}
}

func TestBusyIDFoldsBackIntoParameter(t *testing.T) {
	recs := repeat(singleValueMin+5, req("GET", "", 200), same("/items/7"))
	d := New(DefaultConfig())
	d.Add(recs...)
	if got := templates(t, d.Endpoints()); !slices.Equal(got, []string{"GET api.example.com/items/7"}) {
		t.Fatalf("one busy id: %q", got)
	}
	d.Add(repeat(10, req("GET", "", 200), func(i int) string { return fmt.Sprint("/items/", 100+i) })...)
	eps := d.Endpoints()
	if got := templates(t, eps); !slices.Equal(got, []string{"GET api.example.com/items/{itemId}"}) {
		t.Fatalf("after more ids: %q", got)
	}
	if eps[0].Counted != int64(singleValueMin+15) {
		t.Errorf("Counted %d, want every request", eps[0].Counted)
	}
}

// wordSlug returns a slug of words without digits, like a title or a
// username: the hard case, indistinguishable from a name on its own.
func wordSlug(r *rand.Rand) string {
	words := []string{"alpha", "bravo", "delta", "echo", "gamma", "kilo", "lima", "oscar", "papa", "romeo",
		"sierra", "tango", "victor", "whiskey", "yankee", "zulu", "amber", "cedar", "maple", "birch"}
	return words[r.IntN(len(words))] + "-" + words[r.IntN(len(words))] + words[r.IntN(len(words))]
}

func TestLearnedParameterWithLiteralSiblings(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprint("feed late ", late), func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, 2))
			var recs []record.Record
			for i := range 600 {
				slug := wordSlug(r)
				recs = append(recs, req("GET", "/articles/"+slug, 200))
				if i%3 == 0 {
					recs = append(recs, req("GET", "/articles/"+slug+"/comments", 200))
				}
				if (!late || i > 300) && i%4 == 0 {
					recs = append(recs, req("GET", "/articles/feed", 200))
				}
				if i%5 == 0 {
					recs = append(recs, req("POST", "/articles", 201))
				}
			}
			_, got := discover(t, DefaultConfig(), recs)
			want := []string{"POST /articles", "GET /articles/feed", "GET /articles/{article}", "GET /articles/{article}/comments"}
			if !slices.Equal(got, want) {
				t.Errorf("endpoints\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestRouteTemplates(t *testing.T) {
	withTemplate := func(r record.Record, tmpl string) record.Record {
		r.Template = tmpl
		return r
	}
	t.Run("ground truth", func(t *testing.T) {
		recs := []record.Record{
			withTemplate(req("GET", "/pets/1", 200), "/pets/{petId}"),
			withTemplate(req("GET", "/pets/abc", 200), "/pets/{petId}"),
			withTemplate(req("GET", "/pets/2", 200), "GET /pets/{petId}"), // a route key
			req("GET", "/pets/3", 500),                                    // no template: matched to the route
		}
		d, got := discover(t, DefaultConfig(), recs)
		if !slices.Equal(got, []string{"GET /pets/{petId}"}) {
			t.Fatalf("endpoints %q", got)
		}
		e := d.Endpoints()[0]
		if e.Source != SourceRoute || e.Requests != 4 || e.Counted != 3 {
			t.Errorf("Source %s, Requests %d, Counted %d", e.Source, e.Requests, e.Counted)
		}
		if want := []Param{{Name: "petId", Index: 1, Type: TypeString}}; !slices.Equal(e.Params, want) {
			t.Errorf("Params %+v, want %+v (an integer and a word)", e.Params, want)
		}
	})
	t.Run("learned endpoint joins the route", func(t *testing.T) {
		recs := []record.Record{req("GET", "/pets/1", 200), req("GET", "/pets/2", 200), req("GET", "/pets/3", 200),
			withTemplate(req("GET", "/pets/4", 200), "/pets/{id}"), req("GET", "/pets/5", 200)}
		d, got := discover(t, DefaultConfig(), recs)
		if !slices.Equal(got, []string{"GET /pets/{id}"}) {
			t.Fatalf("endpoints %q", got)
		}
		if e := d.Endpoints()[0]; e.Counted != 5 || e.Source != SourceRoute || e.Params[0].Type != TypeInteger {
			t.Errorf("endpoint %+v", e)
		}
	})
	t.Run("greedy and default routes are learned", func(t *testing.T) {
		recs := []record.Record{
			withTemplate(req("GET", "/api/orders/1", 200), "/{proxy+}"),
			withTemplate(req("GET", "/api/orders/2", 200), "ANY /api/{proxy+}"),
			withTemplate(req("GET", "/api/orders/3", 200), "$default"),
		}
		d, got := discover(t, DefaultConfig(), recs)
		if !slices.Equal(got, []string{"GET /api/orders/{orderId}"}) || d.Endpoints()[0].Source != SourceLearned {
			t.Errorf("endpoints %q", got)
		}
	})
	t.Run("template stands in for the path", func(t *testing.T) {
		recs := []record.Record{withTemplate(req("GET", "/pets/{petId}", 200), "/pets/{petId}"),
			withTemplate(req("GET", "", 200), "/pets/{petId}")}
		d, got := discover(t, DefaultConfig(), recs)
		if !slices.Equal(got, []string{"GET /pets/{petId}"}) {
			t.Fatalf("endpoints %q", got)
		}
		if e := d.Endpoints()[0]; len(e.Examples) != 0 {
			t.Errorf("Examples %q, want none: no concrete path was logged", e.Examples)
		}
	})
	t.Run("literal routes win", func(t *testing.T) {
		recs := []record.Record{
			withTemplate(req("GET", "/pets/mine", 200), "/pets/mine"),
			withTemplate(req("GET", "/pets/7", 200), "/pets/{petId}"),
			req("GET", "/pets/mine", 200), req("GET", "/pets/8", 200),
		}
		_, got := discover(t, DefaultConfig(), recs)
		if want := []string{"GET /pets/mine", "GET /pets/{petId}"}; !slices.Equal(got, want) {
			t.Errorf("endpoints %q, want %q", got, want)
		}
	})
}

func TestNoiseFilter(t *testing.T) {
	tests := []struct {
		name     string
		minReq   int
		minSpan  time.Duration
		n        int
		apart    time.Duration
		visible  bool
		noTimes  bool
		statuses []int
	}{
		{"one request", 2, 0, 1, time.Second, false, false, nil},
		{"two requests", 2, 0, 2, 0, true, false, nil},
		{"two of three counted", 3, 0, 3, time.Second, false, false, []int{200, 500, 200}},
		{"span too short", 2, time.Minute, 5, 10 * time.Second, false, false, nil},
		{"span long enough", 2, time.Minute, 8, 10 * time.Second, true, false, nil},
		{"span unknown", 2, time.Minute, 8, 10 * time.Second, false, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MinRequests, cfg.MinSpan = tt.minReq, tt.minSpan
			recs := repeat(tt.n, req("GET", "", 200), same("/x"))
			for i := range recs {
				recs[i].Time = t0.Add(time.Duration(i) * tt.apart).UnixMilli()
				if tt.noTimes {
					recs[i].Time = 0
				}
				if tt.statuses != nil {
					recs[i].Status = tt.statuses[i]
				}
			}
			d, got := discover(t, cfg, recs)
			if (len(got) == 1) != tt.visible {
				t.Errorf("endpoints %q, want visible=%v", got, tt.visible)
			}
			if s := d.Stats(); s.Endpoints+s.Candidates != 1 {
				t.Errorf("Stats %+v: want the endpoint counted once", s)
			}
		})
	}
}

func TestEndpointStats(t *testing.T) {
	var recs []record.Record
	for i := range 100 {
		r := req("GET", fmt.Sprintf("/orders/%d", i), 200)
		r.LatencyMs = int64(i + 1) // 1..100
		r.ResponseBytes = 1000
		r.Time = t0.Add(time.Duration(i) * time.Minute).UnixMilli()
		r.Stage = []string{"prod", "beta", "prod"}[i%3]
		r.SourceIP = fmt.Sprintf("203.0.113.%d", i%10)
		if i == 50 {
			r.Status = 0
		}
		recs = append(recs, r)
	}
	cfg := DefaultConfig()
	cfg.MaxExamples = 3
	d, _ := discover(t, cfg, recs)
	e := d.Endpoints()[0]
	checks := []struct {
		name      string
		got, want any
	}{
		// Values from 32 on are in buckets 1/16 of a power of two wide and
		// reported as the bucket's middle.
		{"P50", e.LatencyP50, 50.5},
		{"P95", e.LatencyP95, 93.5},
		{"P99", e.LatencyP99, 97.5},
		{"bytes", e.ResponseBytesP50, 1007.5},
		{"first", e.FirstSeen, t0},
		{"last", e.LastSeen, t0.Add(99 * time.Minute)},
		{"stages", e.Stages, []string{"beta", "prod"}},
		{"clients", e.Clients, int64(10)},
		{"examples", e.Examples, []string{"/orders/0", "/orders/1", "/orders/2"}},
		{"classes", e.StatusClasses, map[string]int64{"2xx": 99, "other": 1}},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEndpointIDs(t *testing.T) {
	idRE := regexp.MustCompile(`^[0-9a-f]{20}$`)
	a := endpointID(Key{"app", "api.example.com", "GET", "/users/{userId}"})
	if !idRE.MatchString(a) {
		t.Fatalf("id %q is not 20 hex digits", a)
	}
	if b := endpointID(Key{"app", "api.example.com", "GET", "/users/{id}"}); b != a {
		t.Errorf("renaming a parameter changed the id: %s, %s", a, b)
	}
	for _, k := range []Key{
		{"app2", "api.example.com", "GET", "/users/{userId}"},
		{"app", "api2.example.com", "GET", "/users/{userId}"},
		{"app", "api.example.com", "PUT", "/users/{userId}"},
		{"app", "api.example.com", "GET", "/users/me"},
		{"ap", "papi.example.com", "GET", "/users/{userId}"},
	} {
		if endpointID(k) == a {
			t.Errorf("%+v has the same id as the first key", k)
		}
	}
	// Stable across Discoverers: derived from the key alone.
	recs := synthRecords(t, 3, 5000)
	x, y := New(DefaultConfig()), New(DefaultConfig())
	x.Add(recs...)
	y.Add(recs...)
	ex, ey := x.Endpoints(), y.Endpoints()
	seen := map[string]bool{}
	for i := range ex {
		if ex[i].ID != ey[i].ID || ex[i].ID != endpointID(ex[i].Key) {
			t.Errorf("id of %s differs", ex[i].Template)
		}
		if seen[ex[i].ID] {
			t.Errorf("duplicate id %s", ex[i].ID)
		}
		seen[ex[i].ID] = true
	}
}

func TestNormalizeTemplate(t *testing.T) {
	tests := map[string]string{
		"/users/{userId}":            "/users/{}",
		"/a/{b}/c/{d}":               "/a/{}/c/{}",
		"/plain":                     "/plain",
		"/odd/{unclosed":             "/odd/{unclosed",
		"/{proxy+}":                  "/{}",
		"/repos/{owner}/{repo}/pull": "/repos/{}/{}/pull",
	}
	for in, want := range tests {
		if got := NormalizeTemplate(in); got != want {
			t.Errorf("NormalizeTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParamNames(t *testing.T) {
	tests := []struct {
		parent string
		word   bool
		typ    string
		want   string
	}{
		{"users", true, TypeUUID, "userId"},
		{"categories", true, TypeInteger, "categoryId"},
		{"addresses", true, TypeInteger, "addressId"},
		{"branches", true, TypeString, "branch"},
		{"payment_intents", true, TypeID, "paymentIntentId"},
		{"check-runs", true, TypeInteger, "checkRunId"},
		{"issue", true, TypeID, "issueId"},
		{"Users", true, TypeInteger, "userId"},
		{"status", true, TypeInteger, "statusId"},
		{"reports", true, TypeDate, "date"},
		{"", false, TypeInteger, "id"},
		{"", false, TypeString, "slug"},
		{"", false, TypeHex, "hash"},
		{"", false, TypeDateTime, "datetime"},
		{"", false, TypeEmail, "email"},
	}
	for _, tt := range tests {
		if got := paramName(tt.parent, tt.word, tt.typ); got != tt.want {
			t.Errorf("paramName(%q, %v, %s) = %q, want %q", tt.parent, tt.word, tt.typ, got, tt.want)
		}
	}
	_, got := discover(t, DefaultConfig(), []record.Record{req("GET", "/a/1/2", 200), req("GET", "/a/3/4", 200)})
	if want := []string{"GET /a/{aId}/{id}"}; !slices.Equal(got, want) {
		t.Errorf("endpoints %q, want %q", got, want)
	}
	_, got = discover(t, DefaultConfig(), []record.Record{req("GET", "/1/2", 200), req("GET", "/3/4", 200)})
	if want := []string{"GET /{id}/{id2}"}; !slices.Equal(got, want) {
		t.Errorf("endpoints %q, want %q (names unique in a template)", got, want)
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		kinds map[kind]int64
		want  string
	}{
		{nil, TypeString},
		{map[kind]int64{kindInteger: 10}, TypeInteger},
		{map[kind]int64{kindInteger: 99, kindWord: 1}, TypeInteger},
		{map[kind]int64{kindInteger: 5, kindNumber: 5}, TypeNumber},
		{map[kind]int64{kindInteger: 5, kindHex: 5}, TypeHex},
		{map[kind]int64{kindKey: 5, kindInteger: 5}, TypeID},
		{map[kind]int64{kindWord: 5, kindInteger: 5}, TypeString},
	}
	for _, tt := range tests {
		var ks [numKinds]int64
		for k, n := range tt.kinds {
			ks[k] = n
		}
		if got := typeOf(&ks); got != tt.want {
			t.Errorf("typeOf(%v) = %s, want %s", tt.kinds, got, tt.want)
		}
	}
}

func TestMatch(t *testing.T) {
	d := New(DefaultConfig())
	d.Add(req("GET", "/orders/1", 200), req("GET", "/orders/2", 200), req("GET", "/once", 200))
	tests := []struct {
		rec  record.Record
		want string
	}{
		{req("GET", "/orders/99", 500), "GET /orders/{orderId}"},
		{req("GET", "/orders/3", 200), "GET /orders/{orderId}"},
		{req("POST", "/orders/3", 200), ""},    // no such method
		{req("GET", "/once", 200), ""},         // below the noise filter
		{req("GET", "/unknown", 200), ""},      // leads nowhere known
		{req("OPTIONS", "/orders/1", 200), ""}, // skipped
	}
	before := d.Stats()
	for _, tt := range tests {
		k, ok := d.Match(tt.rec)
		got := ""
		if ok {
			got = k.Method + " " + k.Template
		}
		if got != tt.want {
			t.Errorf("Match(%s %s) = %q, want %q", tt.rec.Method, tt.rec.Path, got, tt.want)
		}
	}
	if after := d.Stats(); after != before {
		t.Errorf("Match changed Stats: %+v then %+v", before, after)
	}
}

func TestAppsAndHostsAreSeparate(t *testing.T) {
	a := req("GET", "/x", 200)
	b := withHost(req("GET", "/x", 200), "Other.Example.COM")
	c := req("GET", "/x", 200)
	c.AppID = "second"
	_, got := discover(t, DefaultConfig(), []record.Record{a, a, b, b, c, c})
	d := New(DefaultConfig())
	d.Add(a, a, b, b, c, c)
	var keys []string
	for _, e := range d.Endpoints() {
		keys = append(keys, e.App+"|"+e.Host+"|"+e.Template)
	}
	want := []string{"|api.example.com|/x", "|other.example.com|/x", "second|api.example.com|/x"}
	if !slices.Equal(keys, want) || len(got) != 3 {
		t.Errorf("keys %q, want %q", keys, want)
	}
}

func TestStableOrder(t *testing.T) {
	recs := synthRecords(t, 5, 20000)
	d := New(DefaultConfig())
	d.Add(recs...)
	eps := d.Endpoints()
	if !slices.IsSortedFunc(eps, func(a, b Endpoint) int {
		return strings.Compare(a.App+"\x00"+a.Host+"\x00"+a.Template+"\x00"+a.Method,
			b.App+"\x00"+b.Host+"\x00"+b.Template+"\x00"+b.Method)
	}) {
		t.Error("endpoints are not sorted")
	}
	again := d.Endpoints()
	if !slices.Equal(templates(t, eps), templates(t, again)) {
		t.Error("two calls disagree")
	}
}

func TestConcurrentUse(t *testing.T) {
	recs := synthRecords(t, 9, 20000)
	d := New(DefaultConfig())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(recs); i += 4 * 100 {
				d.Add(recs[i:min(i+100, len(recs))]...)
				_ = d.Endpoints()
				_ = d.Stats()
				d.Match(recs[i])
			}
		})
	}
	wg.Wait()
	if s := d.Stats(); s.Records == 0 || s.Endpoints == 0 {
		t.Errorf("Stats %+v", s)
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := Config{CountStatusClasses: []int{0, 6}, SkipMethods: []string{" "}, MinRequests: 0, MinSpan: -time.Second, MaxExamples: -1}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
	}
	for _, field := range []string{"CountStatusClasses has 0", "CountStatusClasses has 6", "SkipMethods", "MinRequests", "MinSpan", "MaxExamples"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate does not report %s: %v", field, err)
		}
	}
	if err := (Config{MinRequests: 1}).Validate(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty CountStatusClasses: %v", err)
	}
	// New clamps what Validate reports.
	s := newSettings(bad)
	if !s.count[2] || s.minRequests != 1 || s.minSpanMs != 0 || s.maxExamples != 0 || len(s.skip) != 0 {
		t.Errorf("settings %+v", s)
	}
}
