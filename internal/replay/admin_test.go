package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/protocol"
)

// fakeSQS is an SQS whose queues are empty; err, when set, fails every call.
type fakeSQS struct {
	SQSAPI
	err error
}

func (f fakeSQS) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0", "MaximumMessageSize": "262144",
	}}, nil
}

func (f fakeSQS) ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.ReceiveMessageOutput{}, nil
}

// fakeNode answers the health probe with h, or fails with err.
type fakeNode struct {
	h   protocol.Health
	err error
}

func (n fakeNode) Health(context.Context) (protocol.Health, error) { return n.h, n.err }

var (
	healthy   = fakeNode{h: protocol.Health{Status: "ok", Version: "1.2.3"}}
	unhealthy = fakeNode{h: protocol.Health{Status: "degraded"}, err: &collector.Error{Class: collector.Transient, Status: 503, RetryAfter: 5 * time.Second}}
)

// fakeService is a Service over fake dependencies, logging into the
// returned buffer.
func fakeService(t *testing.T, q SQSAPI, n Node) (*Service, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(Config{
		Queues:            Queues{DLQ: "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-dlq", Traffic: "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-traffic"},
		Limits:            Limits{MaxReplays: 3, Rate: 10},
		ReceiveVisibility: time.Minute,
		Namespace:         "gwtap",
	}, Deps{SQS: q, Node: n, NodeURL: "https://node.example.com", Log: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func TestAdminAPI(t *testing.T) {
	tests := []struct {
		name         string
		node         Node
		method, path string
		body         string
		wantStatus   int
		wantBody     string // a substring of the answer
		wantAllow    string
	}{
		{"status", healthy, "GET", "/v1/dlq", "", 200, `"visible": 0`, ""},
		{"status with a sample size", healthy, "GET", "/v1/dlq?sample=5", "", 200, `"sampleComplete": true`, ""},
		{"sample not a number", healthy, "GET", "/v1/dlq?sample=x", "", 400, "sample must be a non-negative integer", ""},
		{"sample too large", healthy, "GET", "/v1/dlq?sample=5000", "", 400, "sample must be between 0 and 1000", ""},
		{"peek", healthy, "GET", "/v1/dlq/messages?limit=3", "", 200, `"messages": []`, ""},
		{"peek limit too large", healthy, "GET", "/v1/dlq/messages?limit=101", "", 400, "limit must be between 0 and 100", ""},
		{"dry run", healthy, "POST", "/v1/replay", `{"dryRun": true, "max": 10}`, 200, `"stop": "empty"`, ""},
		{"replay with no body", healthy, "POST", "/v1/replay", "", 200, `"dryRun": false`, ""},
		{"unknown option", healthy, "POST", "/v1/replay", `{"dry_run": true}`, 400, `unknown field \"dry_run\"`, ""},
		{"option of the wrong type", healthy, "POST", "/v1/replay", `{"max": "ten"}`, 400, `field \"max\" must be int`, ""},
		{"negative max", healthy, "POST", "/v1/replay", `{"max": -1}`, 400, "max must not be negative", ""},
		{"budget too long", healthy, "POST", "/v1/replay", `{"budgetSeconds": 86400}`, 400, "budgetSeconds must be between 0 and 43200", ""},
		{"not JSON", healthy, "POST", "/v1/replay", `max=10`, 400, "syntax error", ""},
		{"two documents", healthy, "POST", "/v1/replay", `{} {}`, 400, "more than one JSON document", ""},
		{"re-ingest not configured", healthy, "POST", "/v1/reingest", `{}`, 501, "re-ingest is not configured", ""},
		{"healthy node", healthy, "GET", "/v1/node/health", "", 200, `"healthy": true`, ""},
		{"unhealthy node", unhealthy, "GET", "/v1/node/health", "", 503, `"summary": "node answered 503 (degraded), retry after 5s"`, ""},
		{"no node", nil, "GET", "/v1/node/health", "", 501, "no node is configured", ""},
		{"wrong method", healthy, "DELETE", "/v1/dlq", "", 405, `"error": "use GET"`, "GET"},
		{"GET on replay", healthy, "GET", "/v1/replay", "", 405, "use POST", "POST"},
		{"unknown path", healthy, "GET", "/v2/dlq", "", 404, "no such endpoint", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := fakeService(t, fakeSQS{}, tc.node)
			rec := httptest.NewRecorder()
			NewAdminHandler(s).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("%s %s = %d %s, want %d with %q", tc.method, tc.path, rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != protocol.ContentTypeJSON {
				t.Errorf("Content-Type = %q", ct)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Errorf("answer is not JSON: %s", rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
		})
	}
}

// TestAdminHidesInternals: an SQS failure is a 503 that names what failed,
// while the SDK's message (which names roles and accounts) goes only to the
// log.
func TestAdminHidesInternals(t *testing.T) {
	secret := errors.New("AccessDenied: User: arn:aws:sts::123456789012:assumed-role/secret-role/x is not authorized to perform: sqs:receivemessage")
	s, logs := fakeService(t, fakeSQS{err: secret}, healthy)
	for _, path := range []string{"/v1/dlq", "/v1/dlq/messages"} {
		rec := httptest.NewRecorder()
		NewAdminHandler(s).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", path, nil))
		var body protocol.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != 503 || strings.Contains(body.Error, "secret-role") || !strings.Contains(body.Error, "dead-letter queue") {
			t.Errorf("GET %s = %d %q; want 503 naming the DLQ, without the SDK's message", path, rec.Code, body.Error)
		}
	}
	if !bytes.Contains(logs.buf.Bytes(), []byte("secret-role")) {
		t.Error("the internal error was not logged")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"invalid", invalid("max must not be negative"), 400, ErrorTypeInvalid, "max must not be negative"},
		{"unavailable", unavailable("receiving from the dead-letter queue failed", errors.New("dial tcp: refused")), 503, ErrorTypeUnavailable, "receiving from the dead-letter queue failed; try again later (details are in the function's log)"},
		{"deadline", context.DeadlineExceeded, 503, ErrorTypeUnavailable, "the request ran out of time; try again later (details are in the function's log)"},
		{"not configured", &Error{Kind: KindNotConfigured, Msg: "no node"}, 501, ErrorTypeNotConfigured, "no node"},
		{"anything else", errors.New("nil map: secret detail"), 500, ErrorTypeInternal, "internal error (details are in the function's log)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Describe(tc.err)
			if p != (Public{tc.wantStatus, tc.wantType, tc.wantMsg}) {
				t.Errorf("Describe = %+v, want %d %s %q", p, tc.wantStatus, tc.wantType, tc.wantMsg)
			}
		})
	}
}

func TestProbeSummaries(t *testing.T) {
	tests := []struct {
		name string
		node fakeNode
		want string
	}{
		{"healthy", healthy, "healthy (ok)"},
		{"degraded", unhealthy, "node answered 503 (degraded), retry after 5s"},
		{"timeout", fakeNode{err: &collector.Error{Class: collector.Transient, Err: &netOpError{}}}, "no answer from node: timed out"},
		{"deadline", fakeNode{err: &collector.Error{Class: collector.Transient, Err: context.DeadlineExceeded}}, "no answer from node: timed out"},
		{"other", fakeNode{err: &collector.Error{Class: collector.Permanent, Err: errors.New("boom at 10.0.0.1")}}, "no answer from node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fakeService(t, fakeSQS{}, tc.node)
			res, err := s.Probe(t.Context())
			if err != nil || res.Summary != tc.want || res.Healthy != (tc.node.err == nil) {
				t.Errorf("Probe = %+v, %v; want summary %q", res, err, tc.want)
			}
		})
	}
}

// netOpError is a network error that timed out.
type netOpError struct{}

func (*netOpError) Error() string   { return "i/o timeout" }
func (*netOpError) Timeout() bool   { return true }
func (*netOpError) Temporary() bool { return true }
