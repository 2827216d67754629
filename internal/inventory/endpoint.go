package inventory

import (
	"slices"
	"time"

	"github.com/gwtap/gwtap/internal/record"
)

// Endpoint is one discovered API endpoint as the inventory API and the web
// page show it. Its JSON form is the contract of GET /v1/inventory.
type Endpoint struct {
	// ID is stable for the endpoint's key (application, host, method,
	// template) and safe in a URL path segment.
	ID       string `json:"id"`
	App      string `json:"app"`
	Host     string `json:"host"`
	Method   string `json:"method"`
	Template string `json:"template"`
	// Source says how the template was found: from the route API Gateway
	// logged, or inferred from the traffic.
	Source string  `json:"source,omitempty"`
	Params []Param `json:"params,omitempty"`
	// Requests counts every request seen for the endpoint; Counted only
	// those whose status class makes endpoints exist (2xx by default).
	Requests int64 `json:"requests"`
	Counted  int64 `json:"counted"`
	// StatusClasses counts requests by status class ("2xx", "4xx", …;
	// "other" for requests without a logged status).
	StatusClasses map[string]int64 `json:"status_classes,omitempty"`
	// Errors counts the 4xx and 5xx responses among Requests.
	Errors           int64     `json:"errors"`
	LatencyP50       float64   `json:"latency_p50_ms"`
	LatencyP95       float64   `json:"latency_p95_ms"`
	LatencyP99       float64   `json:"latency_p99_ms"`
	ResponseBytesP50 float64   `json:"response_bytes_p50"`
	FirstSeen        time.Time `json:"first_seen,omitzero"`
	LastSeen         time.Time `json:"last_seen,omitzero"`
	Stages           []string  `json:"stages,omitempty"`
	// Clients estimates the number of distinct source IPs.
	Clients int64 `json:"clients"`
	// Examples are concrete paths seen for the endpoint.
	Examples []string `json:"examples,omitempty"`
}

// Param is one path parameter of an endpoint's template.
type Param struct {
	Name string `json:"name"`
	// Index is the parameter's position among the template's path segments,
	// counting from 0.
	Index int `json:"index"`
	// Type is what the observed values were: integer, number, uuid, hex,
	// date, date-time, email, ip, id (an opaque identifier) or string.
	Type string `json:"type"`
}

// Detail is one endpoint with a sample of its recent requests, the body of
// GET /v1/inventory/{id}.
type Detail struct {
	Endpoint
	Recent []Request `json:"recent"`
}

// Request is one stored request, as the detail view shows it.
type Request struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time,omitzero"`
	Path      string    `json:"path"`
	Status    int       `json:"status,omitempty"`
	LatencyMs int64     `json:"latency_ms"`
	Bytes     int64     `json:"response_bytes"`
	SourceIP  string    `json:"source_ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Stage     string    `json:"stage,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// RequestFrom returns the detail view of r.
func RequestFrom(r *record.Record) Request {
	ms := r.Time
	if ms == 0 {
		ms = r.EventTime
	}
	var t time.Time
	if ms != 0 {
		t = time.UnixMilli(ms).UTC()
	}
	errMsg := r.Error
	if errMsg == "" {
		errMsg = r.IntegrationError
	}
	return Request{
		ID: r.ID, Time: t, Path: r.Path, Status: r.Status, LatencyMs: r.LatencyMs, Bytes: r.ResponseBytes,
		SourceIP: r.SourceIP, UserAgent: r.UserAgent, Stage: r.Stage, Error: errMsg,
	}
}

// ErrorCount returns the 4xx and 5xx responses in classes.
func ErrorCount(classes map[string]int64) int64 {
	return classes["4xx"] + classes["5xx"]
}

// sortedClasses returns the keys of classes in order.
func sortedClasses(classes map[string]int64) []string {
	keys := make([]string, 0, len(classes))
	for k, n := range classes {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
