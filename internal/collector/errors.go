package collector

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Class says what the caller may do after a failure.
type Class int

// Failure classes.
const (
	// Transient: the node may take the batch later (no answer, timeout,
	// 408, 429, 5xx, an unreadable 200, or a retry given up on for lack of
	// time or an open breaker). Leave the batch to a later retry.
	Transient Class = iota + 1
	// TooLarge: the node answered 413. Deliver handles it by splitting;
	// callers only see it from Post.
	TooLarge
	// Permanent: sending the same batch again cannot succeed (400, 401,
	// 403, 404, other 4xx, redirects, an untrusted certificate).
	Permanent
)

// String names the class.
func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case TooLarge:
		return "too large"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// ErrCircuitOpen means the Session's circuit breaker is open: the node failed
// transiently too many times in a row in this invocation, so the batch was
// not sent at all. It comes wrapped in a Transient *Error.
var ErrCircuitOpen = errors.New("circuit breaker open: node failing")

// Error is a failed exchange with the node. Every error Post and Deliver
// return is one (test with errors.As).
type Error struct {
	Class Class
	// Status is the HTTP status, 0 when the node did not answer.
	Status int
	// RetryAfter is what the node's Retry-After asked for, 0 when absent.
	RetryAfter time.Duration
	// Reason is the node's explanation (ErrorBody.Error, or the start of
	// its body), empty when it gave none.
	Reason string
	// Err is the cause when there is one: the network error,
	// ErrCircuitOpen, or backoff.ErrNoTime.
	Err error
}

// Error describes the failure for logs.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		fmt.Fprintf(&b, "node answered %d", e.Status)
	} else {
		b.WriteString("no answer from node")
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	fmt.Fprintf(&b, " (%s)", e.Class)
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Detail returns the most specific human reason: Reason, else the cause,
// else the status text.
func (e *Error) Detail() string {
	switch {
	case e.Reason != "":
		return e.Reason
	case e.Err != nil:
		return e.Err.Error()
	case e.Status != 0:
		return http.StatusText(e.Status)
	}
	return e.Class.String()
}

// transportError classifies a failure to get an answer. A certificate the
// client does not trust, or a TLS handshake with a plain-HTTP server, is a
// configuration problem that retries cannot fix; everything else (refused,
// reset, timed out, DNS) may pass.
func transportError(err error) *Error {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	if errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.Is(err, http.ErrSchemeMismatch) {
		return &Error{Class: Permanent, Err: err}
	}
	return &Error{Class: Transient, Err: err}
}

// maxRetryAfter bounds a parsed Retry-After before the policy caps it, so
// an absurd value cannot overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date
// (RFC 9110 §10.2.3); 0 when absent, invalid or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// maxReasonBytes keeps a node's explanation short enough for a log line and
// an SQS message attribute.
const maxReasonBytes = 512

// clip makes a node-supplied text safe to log and to store: printable,
// valid UTF-8, single line, at most maxReasonBytes.
func clip(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxReasonBytes {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
