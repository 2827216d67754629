package web

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/inventory"
)

const hostile = `"><img src=x onerror=alert(1)><script>alert(2)</script>`

func renderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hostileEndpoint() inventory.Endpoint {
	return inventory.Endpoint{
		ID: `id"<x>`, App: hostile, Host: hostile, Method: "GET", Template: "/a/" + hostile, Requests: 1234567,
		StatusClasses: map[string]int64{"2xx": 5, "5xx": 2, hostile: 1}, LatencyP50: 3.25, LatencyP95: 120.4,
		LastSeen: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Stages: []string{hostile}, Examples: []string{"/a/" + hostile},
		Params: []inventory.Param{{Name: hostile, Index: 1, Type: hostile}},
	}
}

func checkEscaped(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<img", "<script>alert", `"><img`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
}

func TestIndexEscapesEverything(t *testing.T) {
	r := renderer(t)
	e := hostileEndpoint()
	var b bytes.Buffer
	err := r.Index(&b, IndexView{
		Query:   inventory.Query{Search: hostile, Host: hostile, App: hostile},
		Page:    inventory.Page{Total: 1, Limit: 100, Endpoints: []inventory.Endpoint{e}},
		Apps:    []string{hostile, "other"},
		Hosts:   []string{hostile},
		Methods: []string{"GET", hostile},
		Records: 1234567,
		Version: hostile,
	})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkEscaped(t, page)
	for _, want := range []string{"1,234,567", "3.2 ms", "120 ms", "2026-12-01 10:00:00Z", `href="/endpoints/id%22%3Cx%3E"`, `id="records-total"`, `src="/static/app.js"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") && strings.Count(page, "<script") != 1 {
		t.Error("a script element besides the page's own")
	}
}

func TestDetailEscapesEverything(t *testing.T) {
	r := renderer(t)
	var b bytes.Buffer
	err := r.Detail(&b, DetailView{Endpoint: inventory.Detail{
		Endpoint: hostileEndpoint(),
		Recent: []inventory.Request{{ID: hostile, Path: "/a/" + hostile, Status: 503, UserAgent: hostile, SourceIP: hostile, Error: hostile,
			Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), LatencyMs: 12}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	checkEscaped(t, page)
	for _, want := range []string{`class="s5"`, "&lt;img src=x onerror=alert(1)&gt;", "p99 —"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestIndexViewNavigation(t *testing.T) {
	v := IndexView{
		Query: inventory.Query{Methods: []string{"GET"}, StatusClasses: []string{"5xx"}, Sort: inventory.SortTemplate, Limit: 10},
		Page:  inventory.Page{Total: 35, Offset: 10, Limit: 10, Endpoints: make([]inventory.Endpoint, 10)},
	}
	if got, want := v.PrevURL(), "/?limit=10&method=GET&sort=template&status=5xx"; got != want {
		t.Errorf("PrevURL %s, want %s", got, want)
	}
	if got, want := v.NextURL(), "/?limit=10&method=GET&offset=20&sort=template&status=5xx"; got != want {
		t.Errorf("NextURL %s, want %s", got, want)
	}
	if !v.Filtered() || !v.MethodSelected("GET") || v.MethodSelected("POST") || !v.StatusSelected("5xx") {
		t.Error("filters not reported")
	}
	v.Page.Offset = 30
	v.Page.Endpoints = v.Page.Endpoints[:5]
	if v.NextURL() != "" {
		t.Error("a next page after the last")
	}
	v.Page.Offset = 0
	if v.PrevURL() != "" {
		t.Error("a previous page before the first")
	}
	selected := 0
	for _, o := range v.SortOptions() {
		if o.Selected {
			selected++
			if o.Value != inventory.SortTemplate {
				t.Errorf("%s selected", o.Value)
			}
		}
	}
	if selected != 1 {
		t.Errorf("%d sort options selected", selected)
	}
	if (IndexView{}).Filtered() {
		t.Error("no filter reported as filtered")
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -5: "-5"} {
		if got := formatCount(in); got != want {
			t.Errorf("formatCount(%d) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "—", math.NaN(): "—", 0.25: "0.2 ms", 9.96: "10.0 ms", 10.4: "10 ms", 1234.5: "1235 ms"} {
		if got := formatMs(in); got != want {
			t.Errorf("formatMs(%v) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "—", 512: "512 B", 2048: "2.0 KiB", 3 << 20: "3.0 MiB"} {
		if got := formatBytes(in); got != want {
			t.Errorf("formatBytes(%v) = %s, want %s", in, got, want)
		}
	}
	if formatTime(time.Time{}) != "—" {
		t.Error("zero time")
	}
	if openAPIURL("", "") != "/v1/openapi.json" || openAPIURL("a b", "h") != "/v1/openapi.json?app=a+b&host=h" {
		t.Error("openAPIURL")
	}
	for status, class := range map[int]string{0: "", 204: "s2", 301: "s3", 404: "s4", 503: "s5"} {
		if statusClass(status) != class {
			t.Errorf("statusClass(%d)", status)
		}
	}
}

func TestStatic(t *testing.T) {
	h := Static()
	for _, path := range []string{"/static/app.js", "/static/style.css"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		if w.Code != http.StatusOK || w.Header().Get("Cache-Control") == "" {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

func TestRenderReportsWriteErrors(t *testing.T) {
	if err := renderer(t).Index(failingWriter{}, IndexView{}); err == nil {
		t.Error("a failed write was not reported")
	}
}
