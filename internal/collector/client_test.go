package collector

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/protocol"
)

// TestPostSendsThePayloadAsIs pins the happy path: the compressed payload
// goes out byte for byte with the protocol's headers.
func TestPostSendsThePayloadAsIs(t *testing.T) {
	node := collectortest.Start(t, nil)
	c := newClient(t, testConfig(t, node.Host()), "tok-123")
	b := batch(t, "msg-1", ids("a", 3))
	a, err := c.Post(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Accepted != 3 || a.Duplicates != 0 || len(a.Rejected) != 0 || a.Took <= 0 {
		t.Errorf("answer %+v", a)
	}
	reqs := node.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if !bytes.Equal(r.Body, b.Payload) {
		t.Error("the payload was re-encoded")
	}
	for h, want := range map[string]string{
		protocol.HeaderContentType:     protocol.ContentTypeNDJSON,
		protocol.HeaderContentEncoding: protocol.EncodingZstd,
		protocol.HeaderAuthorization:   "Bearer tok-123",
		protocol.HeaderIdempotencyKey:  "msg-1",
		protocol.HeaderApplicationID:   "7",
		protocol.HeaderRecordCount:     "3",
		protocol.HeaderUserAgent:       UserAgent,
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	// Duplicates are counted as such on a second post.
	a, err = c.Post(t.Context(), Batch{Key: b.Key, Payload: b.Payload})
	if err != nil || a.Duplicates != 3 || a.Accepted != 0 {
		t.Errorf("second post: %+v %v", a, err)
	}
	if node.Requests()[1].Header.Get(protocol.HeaderRecordCount) != "" {
		t.Error("record count sent though unknown")
	}
}

func TestPostWithoutToken(t *testing.T) {
	node := collectortest.Start(t, nil)
	c := newClient(t, testConfig(t, node.Host()), "")
	b := batch(t, "k", ids("a", 1))
	if _, err := c.Post(t.Context(), Batch{Payload: b.Payload}); err != nil {
		t.Fatal(err)
	}
	if h := node.Requests()[0].Header; h.Get(protocol.HeaderAuthorization) != "" || h.Get(protocol.HeaderIdempotencyKey) != "" {
		t.Errorf("headers %v", h)
	}
}

func TestPostClassifiesAnswers(t *testing.T) {
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		reply      collectortest.Reply
		class      Class
		status     int
		retryAfter time.Duration // lower bound
		reason     string        // substring of Detail()
		cause      error
	}{
		{"503 with Retry-After seconds", collectortest.Reply{Status: 503, RetryAfter: "2", Reason: "overloaded"}, Transient, 503, 2 * time.Second, "overloaded", nil},
		{"429 with Retry-After date", collectortest.Reply{Status: 429, RetryAfter: date}, Transient, 429, 1 * time.Second, "", nil},
		{"408", collectortest.Reply{Status: 408}, Transient, 408, 0, "", nil},
		{"500", collectortest.Reply{Status: 500, Reason: "db down"}, Transient, 500, 0, "db down", nil},
		{"502 plain text", collectortest.Reply{Status: 502, Body: []byte("<html>Bad Gateway</html>\x00")}, Transient, 502, 0, "Bad Gateway", nil},
		{"413", collectortest.Reply{Status: 413}, TooLarge, 413, 0, "", nil},
		{"400", collectortest.Reply{Status: 400, Reason: "body is not NDJSON"}, Permanent, 400, 0, "body is not NDJSON", nil},
		{"401", collectortest.Reply{Status: 401, Reason: "bad token"}, Permanent, 401, 0, "bad token", nil},
		{"403", collectortest.Reply{Status: 403}, Permanent, 403, 0, "Forbidden", nil},
		{"404", collectortest.Reply{Status: 404}, Permanent, 404, 0, "Not Found", nil},
		{"415", collectortest.Reply{Status: 415}, Permanent, 415, 0, "", nil},
		{"202 is not the protocol", collectortest.Reply{Status: 202}, Permanent, 202, 0, "", nil},
		{"200 with a body that is no response", collectortest.Reply{Body: []byte("<html>login</html>")}, Transient, 200, 0, "not a collector protocol response", nil},
		{"200 with negative counts", collectortest.Reply{Body: []byte(`{"accepted":-1}`)}, Transient, 200, 0, "not a collector protocol response", nil},
		{"hang-up", collectortest.Reply{Hangup: true}, Transient, 0, 0, "", nil},
		{"slower than the timeout", collectortest.Reply{Delay: time.Second}, Transient, 0, 0, "no answer within", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply { return tt.reply })
			cfg := testConfig(t, node.Host())
			cfg.Timeout = 100 * time.Millisecond
			c := newClient(t, cfg, "")
			b := batch(t, "k", ids("a", 2))
			_, err := c.Post(t.Context(), Batch{Payload: b.Payload})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if e.Class != tt.class || e.Status != tt.status || e.RetryAfter < tt.retryAfter || e.RetryAfter > tt.retryAfter+2*time.Second {
				t.Errorf("got class %v status %d retry-after %v; want %v %d ≥%v", e.Class, e.Status, e.RetryAfter, tt.class, tt.status, tt.retryAfter)
			}
			if !strings.Contains(e.Detail(), tt.reason) {
				t.Errorf("Detail() = %q, want it to contain %q", e.Detail(), tt.reason)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap %v", err, tt.cause)
			}
			if strings.ContainsRune(e.Detail(), 0) {
				t.Errorf("control character kept in %q", e.Detail())
			}
		})
	}
}

// TestPostDoesNotFollowRedirects keeps the token from travelling to another
// address, and says what to fix.
func TestPostDoesNotFollowRedirects(t *testing.T) {
	elsewhere := collectortest.Start(t, nil)
	host := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+protocol.RecordsPath, http.StatusPermanentRedirect)
	})
	c := newClient(t, testConfig(t, host), "tok")
	b := batch(t, "k", ids("a", 1))
	_, err := c.Post(t.Context(), Batch{Payload: b.Payload})
	var e *Error
	if !errors.As(err, &e) || e.Class != Permanent || e.Status != http.StatusPermanentRedirect || !strings.Contains(e.Reason, "redirect") {
		t.Fatalf("error %v", err)
	}
	if n := len(elsewhere.Requests()); n != 0 {
		t.Errorf("redirect followed: %d requests elsewhere", n)
	}
}

// TestPostStopsAtTheDeadline: an attempt never outlives the invocation's
// deadline minus the margin, whatever Config.Timeout says.
func TestPostStopsAtTheDeadline(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply { return collectortest.Reply{Delay: 5 * time.Second} })
	cfg := testConfig(t, node.Host())
	cfg.Timeout = 10 * time.Second
	cfg.Retry = backoff.Policy{Base: time.Millisecond, Max: time.Millisecond, Margin: 100 * time.Millisecond}
	c := newClient(t, cfg, "")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	b := batch(t, "k", ids("a", 1))
	_, err := c.Post(ctx, Batch{Payload: b.Payload})
	if took := time.Since(start); took > 280*time.Millisecond {
		t.Errorf("attempt took %v, past the deadline minus the margin", took)
	}
	var e *Error
	if !errors.As(err, &e) || e.Class != Transient {
		t.Fatalf("error %v", err)
	}
	// With no time left at all, nothing is sent.
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	before := len(node.Requests())
	if _, err := c.Post(ctx, Batch{Payload: b.Payload}); !errors.Is(err, backoff.ErrNoTime) {
		t.Errorf("error %v, want ErrNoTime", err)
	}
	if len(node.Requests()) != before {
		t.Error("posted with no time left")
	}
}

func TestHealth(t *testing.T) {
	node := collectortest.Start(t, nil)
	c := newClient(t, testConfig(t, node.Host()), "")
	h, err := c.Health(t.Context())
	if err != nil || h.Status != "ok" {
		t.Fatalf("%+v %v", h, err)
	}
	down := rawServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(protocol.HeaderRetryAfter, "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"degraded"}`))
	})
	c = newClient(t, testConfig(t, down), "")
	h, err = c.Health(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Class != Transient || e.Status != 503 || e.RetryAfter != 7*time.Second || h.Status != "degraded" {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"5", 5 * time.Second},
		{" 5 ", 5 * time.Second},
		{"99999999999999", maxRetryAfter},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.v, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxReasonBytes)
	if got := clip(long); len(got) > maxReasonBytes || !strings.HasPrefix(long, got) {
		t.Errorf("clip cut badly: %d bytes", len(got))
	}
	if got := clip(" a\nb\x00c\xff "); got != "a b c" {
		t.Errorf("clip = %q", got)
	}
}
