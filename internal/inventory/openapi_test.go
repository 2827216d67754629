package inventory

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gwtap/gwtap/internal/record"
)

// validate loads doc's JSON with kin-openapi and validates it.
func validate(t *testing.T, doc *OpenAPIDocument) *openapi3.T {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v\n%s", err, b)
	}
	if err := loaded.Validate(t.Context()); err != nil {
		t.Fatalf("invalid OpenAPI: %v\n%s", err, b)
	}
	return loaded
}

func TestOpenAPI(t *testing.T) {
	seen := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	eps := []Endpoint{
		{Host: "api.x", Method: "GET", Template: "/users/{userId}", Requests: 10, StatusClasses: map[string]int64{"2xx": 8, "4xx": 2, "other": 1},
			Params: []Param{{Name: "userId", Index: 1, Type: "uuid"}}, FirstSeen: seen, LastSeen: seen.Add(time.Hour), Examples: []string{"/users/x"}},
		// Same path, other parameter name: one OpenAPI path, the busier name wins.
		{Host: "api.x", Method: "DELETE", Template: "/users/{id}", Requests: 2, StatusClasses: map[string]int64{"2xx": 2}},
		{Host: "api.x", Method: "GET", Template: "/files/{key+}", Requests: 3, StatusClasses: map[string]int64{"2xx": 3}, Params: []Param{{Name: "key", Index: 1, Type: "string"}}},
		{Host: "api.x", Method: "GET", Template: "/a/{id}/b/{id}", Requests: 4, StatusClasses: map[string]int64{"2xx": 4},
			Params: []Param{{Name: "id", Index: 1, Type: "integer"}, {Name: "id", Index: 3, Type: "integer"}}},
		{Host: "api.x", Method: "GET", Template: "/odd{brace}s/{n}", Requests: 1, StatusClasses: map[string]int64{"2xx": 1}, Params: []Param{{Name: "n", Index: 1, Type: "number"}}},
		{Host: "api.x", Method: "GET", Template: "/", Requests: 1},
		{Host: "api.x", Method: "CONNECT", Template: "/tunnel", Requests: 1},
		{Host: "api.x", Method: "GET", Template: "/typed/{d}/{t}/{e}/{h}/{ip}/{x}", Requests: 1, StatusClasses: map[string]int64{"2xx": 1},
			Params: []Param{{Name: "d", Index: 1, Type: "date"}, {Name: "t", Index: 2, Type: "date-time"}, {Name: "e", Index: 3, Type: "email"},
				{Name: "h", Index: 4, Type: "hex"}, {Name: "ip", Index: 5, Type: "ip"}, {Name: "x", Index: 6, Type: "id"}}},
	}
	doc, err := OpenAPI(eps, "Observed API of api.x")
	if err != nil {
		t.Fatal(err)
	}
	loaded := validate(t, doc)

	users := loaded.Paths.Find("/users/{userId}")
	if users == nil || users.Get == nil || users.Delete == nil {
		t.Fatalf("GET and DELETE /users/{userId} not merged: %v", loaded.Paths.InMatchingOrder())
	}
	if p := users.Parameters.GetByInAndName("path", "userId"); p == nil || p.Schema.Value.Format != "uuid" {
		t.Errorf("userId parameter %+v", p)
	}
	if users.Get.Responses.Value("2XX") == nil || users.Get.Responses.Value("4XX") == nil || users.Get.Responses.Len() != 2 {
		t.Errorf("responses of GET /users/{userId}: %v", users.Get.Responses.Map())
	}
	if users.Get.Extensions["x-gwtap-requests"] != float64(10) || users.Get.Extensions["x-gwtap-last-seen"] != "2026-11-30T13:00:00Z" {
		t.Errorf("extensions %v", users.Get.Extensions)
	}
	if item := loaded.Paths.Find("/files/{key}"); item == nil || !strings.Contains(item.Parameters[0].Value.Description, "Greedy") {
		t.Error("greedy parameter not turned into a plain one")
	}
	if loaded.Paths.Find("/a/{id}/b/{id2}") == nil {
		t.Error("repeated parameter name not made unique")
	}
	if loaded.Paths.Find("/odd%7Bbrace%7Ds/{n}") == nil {
		t.Error("braces in a literal segment not escaped")
	}
	if root := loaded.Paths.Find("/"); root == nil || root.Get.Responses.Value("default") == nil {
		t.Error("an endpoint without logged status needs a default response")
	}
	if loaded.Paths.Find("/tunnel") != nil {
		t.Error("CONNECT cannot be an OpenAPI operation")
	}
	typed := loaded.Paths.Find("/typed/{d}/{t}/{e}/{h}/{ip}/{x}")
	for name, want := range map[string]string{"d": "date", "t": "date-time", "e": "email"} {
		if got := typed.Parameters.GetByInAndName("path", name).Schema.Value.Format; got != want {
			t.Errorf("%s has format %q, want %q", name, got, want)
		}
	}
	if typed.Parameters.GetByInAndName("path", "h").Schema.Value.Pattern == "" {
		t.Error("hex parameter without a pattern")
	}
	if loaded.Servers[0].URL != "https://api.x" {
		t.Errorf("server %s", loaded.Servers[0].URL)
	}
	// Operation ids are unique.
	seenIDs := map[string]bool{}
	for _, item := range loaded.Paths.Map() {
		for _, op := range item.Operations() {
			if seenIDs[op.OperationID] {
				t.Errorf("operation id %s twice", op.OperationID)
			}
			seenIDs[op.OperationID] = true
		}
	}
}

func TestOpenAPIStagesAndHosts(t *testing.T) {
	eps := []Endpoint{
		{Host: "abc.execute-api.eu-west-1.amazonaws.com", Method: "GET", Template: "/x", Stages: []string{"prod", "beta"}, Requests: 1},
		{Host: "abc.execute-api.eu-west-1.amazonaws.com", Method: "GET", Template: "/y", Stages: []string{"prod"}, Requests: 1},
	}
	doc, err := OpenAPI(eps, "t")
	if err != nil {
		t.Fatal(err)
	}
	loaded := validate(t, doc)
	if s := loaded.Servers[0]; s.URL != "https://abc.execute-api.eu-west-1.amazonaws.com/{stage}" || s.Variables["stage"].Default != "beta" {
		t.Errorf("server %+v", s)
	}
	if _, err := OpenAPI(append(eps, Endpoint{Host: "other", Method: "GET", Template: "/"}), "t"); !errors.Is(err, ErrAmbiguousHost) {
		t.Errorf("two hosts: %v", err)
	}
	empty, err := OpenAPI(nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	validate(t, empty)
}

func TestRequestFrom(t *testing.T) {
	r := RequestFrom(&record.Record{ID: "a", EventTime: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), Path: "/x", Status: 502, IntegrationError: "boom"})
	if !r.Time.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || r.Error != "boom" || r.Status != 502 {
		t.Errorf("got %+v", r)
	}
	if r := RequestFrom(&record.Record{ID: "b"}); !r.Time.IsZero() {
		t.Errorf("no time became %v", r.Time)
	}
}
