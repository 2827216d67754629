package accesslog_test

import (
	"errors"
	"fmt"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/record"
)

func ExampleParse() {
	// One CloudWatch log event message in the vendor seed's format, with
	// resourcePath added.
	line := `{ "requestId": "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10", "httpMethod": "GET", ` +
		`"path": "/prod/pets/17", "resourcePath": "/pets/{petId}", "protocol": "HTTP/1.1", ` +
		`"status": "200", "responseLength": "61", "requestTimeEpoch": "1796166648123", ` +
		`"responseLatency": "35", "integrationLatency": "30", "errorMessage": "-", "stage": "prod", ` +
		`"domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "sourceIp": "203.0.113.7" }`

	var rec record.Record
	format, err := accesslog.Parse(line, &rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(format, rec.Method, rec.Path, rec.Template, rec.Status, rec.LatencyMs, rec.APIID, rec.Time)

	// A rejected line says why; callers count by reason and log a few.
	_, err = accesslog.Parse(`{"httpMethod":"GET","routeKey":"$default"}`, &rec)
	fmt.Println(errors.Is(err, accesslog.ErrMissingPath), err)
	// Output:
	// JSON GET /pets/17 /pets/{petId} 200 35 a1b2c3d4e5 1796166648123
	// true accesslog: JSON line: missing path in "{\"httpMethod\":\"GET\",\"routeKey\":\"$default\"}"
}
