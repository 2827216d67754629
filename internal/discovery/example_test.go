package discovery_test

import (
	"fmt"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/record"
)

func ExampleDiscoverer() {
	d := discovery.New(discovery.DefaultConfig())
	get := func(path string, status int) record.Record {
		return record.Record{Method: "GET", Host: "api.example.com", Path: path, Status: status}
	}
	d.Add(get("/users/100", 200), get("/users/101", 200), get("/users/102", 200),
		get("/users/me", 200), get("/users/me", 200),
		get("/users/100", 404), // an error on an endpoint that exists: in its stats
		get("/admin", 404),     // only errors: not an endpoint
		record.Record{Method: "OPTIONS", Host: "api.example.com", Path: "/users/100", Status: 204})
	for _, e := range d.Endpoints() {
		fmt.Println(e.Method, e.Template, e.Requests, e.StatusClasses, e.Params)
	}
	s := d.Stats()
	fmt.Println(s.Records, "records,", s.Skipped.Method, "skipped by method,", s.Skipped.Status, "by status")
	// Output:
	// GET /users/me 2 map[2xx:2] []
	// GET /users/{userId} 4 map[2xx:3 4xx:1] [{userId 1 integer}]
	// 8 records, 1 skipped by method, 1 by status
}

func ExampleNormalizeTemplate() {
	fmt.Println(discovery.NormalizeTemplate("/repos/{owner}/{repo}/issues/{issue_number}"))
	// Output: /repos/{}/{}/issues/{}
}
