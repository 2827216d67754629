package node

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/synth"
)

// loadedNode is a node that took a few thousand records of synthetic
// traffic for application "shop".
func loadedNode(t *testing.T) *testNode {
	t.Helper()
	n := newTestNode(t, Config{})
	recs := synthRecords(6000, 7)
	for i := 0; i < len(recs); i += 1000 {
		mustOK(t, post(t, n.h, ndjson(recs[i:i+1000]), protocol.HeaderApplicationID, "shop"))
	}
	return n
}

func inventoryPage(t *testing.T, h http.Handler, query string) inventory.Page {
	t.Helper()
	w := get(t, h, "/v1/inventory?"+query)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /v1/inventory?%s: %d %s", query, w.Code, w.Body.String())
	}
	return decodeJSON[inventory.Page](t, w)
}

func TestInventoryAPI(t *testing.T) {
	n := loadedNode(t)
	all := inventoryPage(t, n.h, "limit=1000")
	if all.Total < 20 || len(all.Endpoints) != all.Total {
		t.Fatalf("inventory of synthetic traffic has %d endpoints", all.Total)
	}
	found := map[string]bool{}
	for _, e := range all.Endpoints {
		found[e.Method+" "+e.Host+e.Template] = true
		if e.App != "shop" || e.ID == "" || e.Requests < e.Counted || e.Errors != e.StatusClasses["4xx"]+e.StatusClasses["5xx"] {
			t.Errorf("endpoint %+v", e)
		}
	}
	for _, want := range []string{"GET " + synth.ShopHost + "/v1/products/{productId}", "DELETE " + synth.ShopHost + "/v1/orders/{orderId}"} {
		if !found[want] {
			t.Errorf("%s missing from the inventory", want)
		}
	}
	if !slices.IsSortedFunc(all.Endpoints, func(a, b inventory.Endpoint) int { return int(b.Requests - a.Requests) }) {
		t.Error("default order is not most requests first")
	}

	tests := []struct {
		query string
		keep  func(e inventory.Endpoint) bool
	}{
		{"host=" + synth.AdminHost, func(e inventory.Endpoint) bool { return e.Host == synth.AdminHost }},
		{"method=post,delete", func(e inventory.Endpoint) bool { return e.Method == "POST" || e.Method == "DELETE" }},
		{"prefix=/v1/orders", func(e inventory.Endpoint) bool { return strings.HasPrefix(e.Template, "/v1/orders") }},
		{"q=CARTS", func(e inventory.Endpoint) bool { return strings.Contains(e.Template, "carts") }},
		{"status=5xx", func(e inventory.Endpoint) bool { return e.StatusClasses["5xx"] > 0 }},
		{"status=error", func(e inventory.Endpoint) bool { return e.Errors > 0 }},
		{"app=shop", func(inventory.Endpoint) bool { return true }},
		{"app=other", func(inventory.Endpoint) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := inventoryPage(t, n.h, tt.query+"&limit=1000")
			want := 0
			for _, e := range all.Endpoints {
				if tt.keep(e) {
					want++
				}
			}
			if p.Total != want || len(p.Endpoints) != want {
				t.Errorf("%d endpoints (total %d), want %d", len(p.Endpoints), p.Total, want)
			}
			for _, e := range p.Endpoints {
				if !tt.keep(e) {
					t.Errorf("%s %s passed the filter", e.Method, e.Template)
				}
			}
		})
	}

	t.Run("sort by template", func(t *testing.T) {
		p := inventoryPage(t, n.h, "sort=template&limit=1000")
		if !slices.IsSortedFunc(p.Endpoints, func(a, b inventory.Endpoint) int { return strings.Compare(a.Template, b.Template) }) {
			t.Error("not sorted by template")
		}
	})
	t.Run("sort by last seen", func(t *testing.T) {
		p := inventoryPage(t, n.h, "sort=last_seen&limit=1000")
		if !slices.IsSortedFunc(p.Endpoints, func(a, b inventory.Endpoint) int { return b.LastSeen.Compare(a.LastSeen) }) {
			t.Error("not sorted by last seen")
		}
	})
	t.Run("offset paging", func(t *testing.T) {
		p := inventoryPage(t, n.h, "limit=5&offset=5")
		if len(p.Endpoints) != 5 || p.Endpoints[0].ID != all.Endpoints[5].ID || p.Total != all.Total {
			t.Errorf("page 2 of 5: %d endpoints starting %s", len(p.Endpoints), p.Endpoints[0].ID)
		}
	})
	t.Run("cursor paging", func(t *testing.T) {
		var ids []string
		q := "limit=7&sort=template"
		for range 100 {
			p := inventoryPage(t, n.h, q)
			for _, e := range p.Endpoints {
				ids = append(ids, e.ID)
			}
			if p.NextCursor == "" {
				break
			}
			q = "limit=7&sort=template&cursor=" + url.QueryEscape(p.NextCursor)
		}
		if len(ids) != all.Total {
			t.Fatalf("cursor paging returned %d endpoints, want %d", len(ids), all.Total)
		}
		slices.Sort(ids)
		if len(slices.Compact(ids)) != all.Total {
			t.Error("cursor paging returned an endpoint twice")
		}
	})
	for _, bad := range []string{"limit=0x", "limit=5000", "offset=-1", "sort=size", "status=6xx", "cursor=%%%", "cursor=abc&offset=3", "sort=template&cursor=" + url.QueryEscape(inventoryPage(t, n.h, "limit=2").NextCursor)} {
		t.Run("bad "+bad, func(t *testing.T) {
			w := get(t, n.h, "/v1/inventory?"+bad)
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
			if e := decodeJSON[protocol.ErrorBody](t, w); e.Error == "" {
				t.Error("no error message")
			}
		})
	}
}

func TestEndpointDetailAPI(t *testing.T) {
	n := loadedNode(t)
	p := inventoryPage(t, n.h, "host="+synth.ShopHost+"&prefix=/v1/products/&method=GET&limit=1")
	if len(p.Endpoints) != 1 {
		t.Fatal("no product endpoint")
	}
	e := p.Endpoints[0]
	w := get(t, n.h, "/v1/inventory/"+e.ID+"?recent=5")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	d := decodeJSON[inventory.Detail](t, w)
	if d.ID != e.ID || d.Template != e.Template || len(d.Recent) != 5 {
		t.Fatalf("detail of %s: %s with %d recent requests", e.Template, d.Template, len(d.Recent))
	}
	for i, r := range d.Recent {
		if !inventoryTemplateMatches(e.Template, r.Path) || r.UserAgent == "" || r.ID == "" {
			t.Errorf("recent request %+v does not belong to %s", r, e.Template)
		}
		if i > 0 && r.Time.After(d.Recent[i-1].Time) {
			t.Error("recent requests are not newest first")
		}
	}
	if len(d.Params) == 0 || d.Params[0].Type != "integer" {
		t.Errorf("params %+v, want an integer productId", d.Params)
	}
	if w := get(t, n.h, "/v1/inventory/"+e.ID+"?recent=0"); len(decodeJSON[inventory.Detail](t, w).Recent) != 0 {
		t.Error("recent=0 returned requests")
	}
	for target, status := range map[string]int{
		"/v1/inventory/nope":                    http.StatusNotFound,
		"/v1/inventory/" + e.ID + "?recent=x":   http.StatusBadRequest,
		"/v1/inventory/" + e.ID + "?recent=-1":  http.StatusBadRequest,
		"/v1/inventory/" + e.ID + "?recent=1e9": http.StatusBadRequest,
	} {
		if w := get(t, n.h, target); w.Code != status {
			t.Errorf("GET %s: %d, want %d", target, w.Code, status)
		}
	}
}

// inventoryTemplateMatches reports whether path fits template segment by
// segment, for checking recent requests.
func inventoryTemplateMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if !strings.HasPrefix(ts[i], "{") && ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func TestOpenAPIExport(t *testing.T) {
	n := loadedNode(t)
	for _, host := range []string{synth.ShopHost, synth.ExecuteHost, synth.AdminHost} {
		t.Run(host, func(t *testing.T) {
			w := get(t, n.h, "/v1/openapi.json?app=shop&host="+url.QueryEscape(host))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(w.Body.Bytes())
			if err != nil {
				t.Fatalf("kin-openapi cannot load the export: %v", err)
			}
			if err := doc.Validate(t.Context()); err != nil {
				t.Fatalf("the export is not valid OpenAPI: %v\n%s", err, w.Body.String())
			}
			if doc.OpenAPI != "3.1.0" || doc.Paths.Len() == 0 {
				t.Fatalf("openapi %s with %d paths", doc.OpenAPI, doc.Paths.Len())
			}
			p := inventoryPage(t, n.h, "app=shop&limit=1000&host="+url.QueryEscape(host))
			ops := 0
			for _, item := range doc.Paths.Map() {
				ops += len(item.Operations())
			}
			if ops != p.Total {
				t.Errorf("%d operations for %d endpoints", ops, p.Total)
			}
			if host == synth.ShopHost {
				item := doc.Paths.Find("/v1/products/{productId}")
				if item == nil || item.Get == nil {
					t.Fatal("GET /v1/products/{productId} missing")
				}
				param := item.Parameters.GetByInAndName("path", "productId")
				if param == nil || !param.Schema.Value.Type.Is("integer") {
					t.Errorf("productId is not an integer path parameter: %+v", param)
				}
				for _, code := range []string{"2XX", "4XX", "5XX"} {
					if item.Get.Responses.Value(code) == nil {
						t.Errorf("response %s missing from GET /v1/products/{productId}", code)
					}
				}
				if user := doc.Paths.Find("/v1/users/{userId}"); user == nil || user.Get == nil ||
					user.Parameters.GetByInAndName("path", "userId").Schema.Value.Format != "uuid" {
					t.Error("userId is not a uuid")
				}
			}
			if host == synth.ExecuteHost && !strings.Contains(doc.Servers[0].URL, "{stage}") {
				t.Errorf("execute-api server %s has no stage variable", doc.Servers[0].URL)
			}
		})
	}
	t.Run("several hosts", func(t *testing.T) {
		w := get(t, n.h, "/v1/openapi.json")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), synth.AdminHost) {
			t.Errorf("status %d: %s", w.Code, w.Body.String())
		}
	})
	t.Run("no endpoints", func(t *testing.T) {
		w := get(t, n.h, "/v1/openapi.json?host=nowhere.example")
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		doc, err := openapi3.NewLoader().LoadFromData(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(t.Context()); err != nil {
			t.Errorf("empty export invalid: %v", err)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		if w := get(t, n.h, "/v1/openapi.json?status=9"); w.Code != http.StatusBadRequest {
			t.Errorf("status %d", w.Code)
		}
	})
}

func TestStatsAPI(t *testing.T) {
	n := newTestNode(t, Config{})
	mustOK(t, post(t, n.h, ndjson(synthRecords(10, 1))))
	mustOK(t, post(t, n.h, []byte(string(ndjson(synthRecords(10, 1)))+"oops\n")))
	st := decodeJSON[Stats](t, get(t, n.h, "/v1/stats"))
	want := Stats{Records: 10, Batches: 2, Received: 21, Accepted: 10, Duplicates: 10, Rejected: 1}
	if st.Records != want.Records || st.Batches != want.Batches || st.Received != want.Received ||
		st.Accepted != want.Accepted || st.Duplicates != want.Duplicates || st.Rejected != want.Rejected {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if st.Discovery.Records != 10 || st.Rebuilding {
		t.Errorf("discovery stats %+v", st.Discovery)
	}
}
