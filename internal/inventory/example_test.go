package inventory_test

import (
	"fmt"
	"net/url"

	"github.com/gwtap/gwtap/internal/inventory"
)

// A page of the inventory as GET /v1/inventory?method=GET&sort=template&limit=2
// selects it, then the next page from its cursor.
func ExampleSelect() {
	eps := []inventory.Endpoint{
		{ID: "1", Method: "GET", Host: "api.example.com", Template: "/users/{userId}", Requests: 40},
		{ID: "2", Method: "POST", Host: "api.example.com", Template: "/users", Requests: 7},
		{ID: "3", Method: "GET", Host: "api.example.com", Template: "/orders/{orderId}", Requests: 12},
		{ID: "4", Method: "GET", Host: "api.example.com", Template: "/health", Requests: 300},
	}
	v, err := url.ParseQuery("method=GET&sort=template&limit=2")
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := inventory.ParseQuery(v)
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		page, err := inventory.Select(eps, q)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, e := range page.Endpoints {
			fmt.Println(e.Method, e.Template, e.Requests)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	// Output:
	// GET /health 300
	// GET /orders/{orderId} 12
	// GET /users/{userId} 40
}
