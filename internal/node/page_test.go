package node

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/web"
)

// Hostile strings that came from traffic. Each tries to run script by
// setting window.__xss; rendered as text, none does.
const (
	xssHost     = `evil"><b>bold<b>.example`
	xssPath     = `/search/<script>window.__xss=1</script>`
	xssAgent    = `"><img src=x onerror="window.__xss=2"><script>window.__xss=4</script>`
	xssTemplate = `/items/<script>window.__xss=5</script>/{id}`
	xssError    = `</td><script>window.__xss=6</script>`
)

// xssRecords are requests carrying the hostile strings, successful so
// that their endpoints are listed.
func xssRecords(n int) []record.Record {
	var recs []record.Record
	for i := range n {
		ms := recentMs + int64(i)
		recs = append(recs,
			record.Record{ID: "xss-path-" + string(rune('a'+i)), AppID: "shop", Time: ms, Method: "GET", Host: xssHost, Path: xssPath, Status: 200, UserAgent: xssAgent, SourceIP: "198.51.100.7", LatencyMs: 12},
			record.Record{ID: "xss-route-" + string(rune('a'+i)), AppID: "shop", Time: ms, Method: "POST", Host: xssHost, Path: "/items/x/42", Template: xssTemplate, Status: 201, UserAgent: xssAgent, LatencyMs: 30},
			record.Record{ID: "xss-error-" + string(rune('a'+i)), AppID: "shop", Time: ms, Method: "GET", Host: xssHost, Path: xssPath, Status: 500, UserAgent: xssAgent, Error: xssError, LatencyMs: 7},
		)
	}
	return recs
}

func getPage(t *testing.T, n *testNode, target string) (int, http.Header, string) {
	t.Helper()
	w := get(t, n.h, target)
	return w.Code, w.Header(), w.Body.String()
}

func TestPageEscapesTraffic(t *testing.T) {
	n := newTestNode(t, Config{Version: "test"})
	mustOK(t, post(t, n.h, ndjson(append(synthRecords(500, 3), xssRecords(3)...)), protocol.HeaderApplicationID, "shop"))

	status, h, body := getPage(t, n, "/")
	if status != http.StatusOK {
		t.Fatalf("GET /: %d", status)
	}
	if h.Get("Content-Security-Policy") != web.ContentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("headers %v", h)
	}
	assertEscaped(t, body)
	for _, want := range []string{`id="inventory"`, "/v1/openapi.json?host=evil%22%3E%3Cb%3E", `id="records-total"`, "509"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	p := inventoryPage(t, n.h, "host="+strings.ReplaceAll(xssHost, `"`, "%22")+"&limit=100")
	if p.Total < 2 {
		t.Fatalf("hostile endpoints not listed: %+v", p)
	}
	for _, e := range p.Endpoints {
		status, h, body := getPage(t, n, "/endpoints/"+e.ID)
		if status != http.StatusOK || h.Get("Content-Security-Policy") == "" {
			t.Fatalf("detail %s: %d", e.ID, status)
		}
		assertEscaped(t, body)
		if !strings.Contains(body, "&lt;img src=x onerror=") {
			t.Errorf("detail of %s does not show the user agent as text", e.Template)
		}
	}
	if status, _, _ := getPage(t, n, "/endpoints/nope"); status != http.StatusNotFound {
		t.Errorf("unknown endpoint page: %d", status)
	}
	if status, _, _ := getPage(t, n, "/?status=7xx"); status != http.StatusBadRequest {
		t.Errorf("bad filter: %d", status)
	}
}

// assertEscaped fails if any hostile string reached the page as markup.
func assertEscaped(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script>window", "<img", "<b>bold", "onerror=\"window", "</td><script>"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
}

func TestPageFiltersAndPaging(t *testing.T) {
	n := loadedNode(t)
	all := inventoryPage(t, n.h, "limit=1000")
	_, _, body := getPage(t, n, "/?limit=5")
	if got := strings.Count(body, `<tr data-text=`); got != 5 {
		t.Errorf("%d rows with limit=5", got)
	}
	if !strings.Contains(body, `rel="next" href="/?limit=5&amp;offset=5"`) {
		t.Error("no link to the next page")
	}
	_, _, body = getPage(t, n, "/?limit=5&offset=5")
	if !strings.Contains(body, `rel="prev"`) {
		t.Error("no link to the previous page")
	}
	_, _, body = getPage(t, n, "/?method=DELETE")
	deletes := 0
	for _, e := range all.Endpoints {
		if e.Method == "DELETE" {
			deletes++
		}
	}
	if got := strings.Count(body, `<tr data-text=`); got != deletes {
		t.Errorf("%d rows for DELETE, want %d", got, deletes)
	}
	if !strings.Contains(body, `<option value="DELETE" selected>`) {
		t.Error("the method filter is not shown as selected")
	}
	_, _, body = getPage(t, n, "/?q=zzz-nothing")
	if !strings.Contains(body, "No endpoint matches these filters.") {
		t.Error("no empty-result message")
	}
}

func TestPageEmptyInventory(t *testing.T) {
	n := newTestNode(t, Config{})
	_, _, body := getPage(t, n, "/")
	if !strings.Contains(body, "No endpoints yet.") {
		t.Error("no hint on an empty inventory")
	}
}

func TestStaticAssets(t *testing.T) {
	n := newTestNode(t, Config{})
	for path, ctype := range map[string]string{"/static/app.js": "javascript", "/static/style.css": "text/css"} {
		w := get(t, n.h, path)
		if w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), ctype) || w.Body.Len() == 0 {
			t.Errorf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if w := get(t, n.h, "/static/nope.js"); w.Code != http.StatusNotFound {
		t.Errorf("missing asset: %d", w.Code)
	}
	// The script writes traffic into the page as text only.
	js := get(t, n.h, "/static/app.js").Body.String()
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(js, sink) {
			t.Errorf("app.js uses %s", sink)
		}
	}
}
