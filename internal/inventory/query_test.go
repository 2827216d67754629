package inventory

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"
)

func endpoints() []Endpoint {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, app, host, method, tmpl string, requests int64, lastMin int, classes map[string]int64) Endpoint {
		return Endpoint{ID: id, App: app, Host: host, Method: method, Template: tmpl, Requests: requests,
			LastSeen: t0.Add(time.Duration(lastMin) * time.Minute), StatusClasses: classes, Errors: ErrorCount(classes)}
	}
	return []Endpoint{
		mk("a", "1", "api.x", "GET", "/users/{id}", 100, 5, map[string]int64{"2xx": 90, "4xx": 10}),
		mk("b", "1", "api.x", "POST", "/users", 30, 9, map[string]int64{"2xx": 30}),
		mk("c", "1", "api.x", "GET", "/orders/{id}", 100, 1, map[string]int64{"2xx": 99, "5xx": 1}),
		mk("d", "1", "admin.x", "DELETE", "/users/{id}", 3, 7, map[string]int64{"2xx": 3}),
		mk("e", "2", "api.y", "GET", "/health", 500, 2, map[string]int64{"2xx": 500}),
		mk("f", "2", "api.y", "GET", "/Users/Search", 7, 3, map[string]int64{"3xx": 7}),
	}
}

func ids(p Page) []string {
	var out []string
	for _, e := range p.Endpoints {
		out = append(out, e.ID)
	}
	return out
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want Query
	}{
		{"", Query{}},
		{"app=1&host=api.x&method=get,%20Post&prefix=/u&q=%20us%20&status=4,5xx,error,2XX&sort=-last_seen&limit=10&offset=20",
			Query{App: "1", Host: "api.x", Methods: []string{"GET", "POST"}, Prefix: "/u", Search: "us",
				StatusClasses: []string{"4xx", "5xx", "error", "2xx"}, Sort: SortLastSeen, Reverse: true, Limit: 10, Offset: 20}},
		{"sort=template&cursor=abc&unknown=1", Query{Sort: SortTemplate, Cursor: "abc"}},
		{"method=,,&status=", Query{}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseQuery(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			again, err := ParseQuery(got.Values())
			if err != nil {
				t.Fatal(err)
			}
			again.Limit, again.Offset, again.Cursor = got.Limit, got.Offset, got.Cursor
			if !reflect.DeepEqual(again, got) {
				t.Errorf("Values does not round-trip: %+v", again)
			}
		})
	}
	for _, bad := range []string{"status=6xx", "status=2x", "status=ok", "sort=size", "sort=--requests", "limit=-1", "limit=1001", "limit=x", "offset=-2", "offset=1&cursor=x"} {
		t.Run("bad "+bad, func(t *testing.T) {
			v, _ := url.ParseQuery(bad)
			if _, err := ParseQuery(v); !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("got %v, want ErrInvalidQuery", err)
			}
		})
	}
}

func TestSelectFilters(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"everything, most requested first, ties by template", Query{}, []string{"e", "c", "a", "b", "f", "d"}},
		{"application", Query{App: "2"}, []string{"e", "f"}},
		{"host", Query{Host: "api.x"}, []string{"c", "a", "b"}},
		{"methods", Query{Methods: []string{"POST", "DELETE"}}, []string{"b", "d"}},
		{"prefix", Query{Prefix: "/users"}, []string{"a", "b", "d"}},
		{"search ignores case, matches host too", Query{Search: "USERS"}, []string{"a", "b", "f", "d"}},
		{"search in host", Query{Search: "admin"}, []string{"d"}},
		{"status class", Query{StatusClasses: []string{"5xx"}}, []string{"c"}},
		{"errors", Query{StatusClasses: []string{"error"}}, []string{"c", "a"}},
		{"any of several classes", Query{StatusClasses: []string{"3xx", "5xx"}}, []string{"c", "f"}},
		{"sort by last seen", Query{Sort: SortLastSeen}, []string{"b", "d", "a", "f", "e", "c"}},
		{"sort by template", Query{Sort: SortTemplate}, []string{"f", "e", "c", "b", "d", "a"}},
		{"reverse", Query{Reverse: true}, []string{"d", "f", "b", "a", "c", "e"}},
		{"limit and offset", Query{Limit: 2, Offset: 1}, []string{"c", "a"}},
		{"offset past the end", Query{Offset: 10}, nil},
		{"nothing matches", Query{Host: "none"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps := endpoints()
			before := fmt.Sprint(eps)
			p, err := Select(eps, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if fmt.Sprint(eps) != before {
				t.Error("Select modified its input")
			}
		})
	}
}

func TestSelectCursor(t *testing.T) {
	for _, sort := range []string{"", SortLastSeen, SortTemplate} {
		for _, reverse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s reverse=%v", sort, reverse), func(t *testing.T) {
				all, err := Select(endpoints(), Query{Sort: sort, Reverse: reverse})
				if err != nil {
					t.Fatal(err)
				}
				q := Query{Sort: sort, Reverse: reverse, Limit: 4}
				var got []string
				for range 10 {
					p, err := Select(endpoints(), q)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ids(p)...)
					if p.Total != 6 {
						t.Errorf("total %d on a page", p.Total)
					}
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
				}
				if !slices.Equal(got, ids(all)) {
					t.Errorf("pages %v, want %v", got, ids(all))
				}
			})
		}
	}
	t.Run("endpoints added between pages", func(t *testing.T) {
		p, err := Select(endpoints(), Query{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		// A new endpoint ranked before the cursor does not shift the next page.
		eps := append(endpoints(), Endpoint{ID: "z", Template: "/new", Requests: 1000})
		next, err := Select(eps, Query{Limit: 3, Cursor: p.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(next); !slices.Equal(got, []string{"b", "f", "d"}) {
			t.Errorf("next page %v", got)
		}
	})
	for name, cursor := range map[string]string{"garbage": "!!", "not JSON": "bm90IGpzb24", "another order": mustCursor(t, SortTemplate)} {
		t.Run("bad cursor: "+name, func(t *testing.T) {
			if _, err := Select(endpoints(), Query{Cursor: cursor}); !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("got %v, want ErrInvalidQuery", err)
			}
		})
	}
}

func mustCursor(t *testing.T, sort string) string {
	t.Helper()
	p, err := Select(endpoints(), Query{Sort: sort, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.NextCursor
}

func TestSelectLimits(t *testing.T) {
	var eps []Endpoint
	for i := range 1500 {
		eps = append(eps, Endpoint{ID: fmt.Sprint(i), Template: fmt.Sprintf("/p/%04d", i)})
	}
	p, err := Select(eps, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Endpoints) != DefaultLimit || p.Limit != DefaultLimit || p.NextCursor == "" {
		t.Errorf("default page: %d endpoints, limit %d", len(p.Endpoints), p.Limit)
	}
	p, err = Select(eps, Query{Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Endpoints) != MaxLimit {
		t.Errorf("%d endpoints past MaxLimit", len(p.Endpoints))
	}
}
