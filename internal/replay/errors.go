package replay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a failure for the callers that report it: the admin API
// turns it into an HTTP status, the direct invocation into the error type
// Step Functions matches in Retry and Catch.
type Kind int

// Failure kinds.
const (
	// KindInternal is a bug or an unexpected state; nothing the caller can
	// change.
	KindInternal Kind = iota
	// KindInvalid is a request or an option the caller got wrong; the
	// message says what.
	KindInvalid
	// KindUnavailable is a dependency that failed (SQS, the node): retrying
	// later may work.
	KindUnavailable
	// KindNotConfigured is an action the deployment is not set up for, such
	// as re-ingest without an ingest failure queue.
	KindNotConfigured
)

// Error is a failure of a replay action. Msg is safe to show to any caller;
// Err is the cause, for logs only.
type Error struct {
	Kind Kind
	// Msg says what failed, without internal detail.
	Msg string
	// Err is the underlying error, nil when there is none.
	Err error
}

// Error returns the public message followed by the cause.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid returns a KindInvalid error with a formatted public message.
func invalid(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// unavailable wraps the failure of a dependency, with msg saying which.
func unavailable(msg string, err error) error {
	return &Error{Kind: KindUnavailable, Msg: msg, Err: err}
}

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// KindUnavailable for an ended context (the invocation ran out of time), and
// KindInternal for anything else.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return KindUnavailable
	}
	return KindInternal
}

// Public is how a failure is shown to a caller: the HTTP status of the admin
// API, the error type a direct invocation fails with (what a Step Functions
// Retry or Catch names), and a message without internals.
type Public struct {
	Status  int
	Type    string
	Message string
}

// Error types of direct invocations, as Step Functions sees them.
const (
	ErrorTypeInvalid       = "Replay.InvalidRequest"
	ErrorTypeUnavailable   = "Replay.Unavailable"
	ErrorTypeNotConfigured = "Replay.NotConfigured"
	ErrorTypeInternal      = "Replay.Internal"
)

// Describe maps err to what a caller is shown. It is the only place that
// decides statuses and messages; callers log err itself.
func Describe(err error) Public {
	var e *Error
	msg := ""
	if errors.As(err, &e) {
		msg = e.Msg
	}
	switch KindOf(err) {
	case KindInvalid:
		return Public{http.StatusBadRequest, ErrorTypeInvalid, msg}
	case KindUnavailable:
		if msg == "" {
			msg = "the request ran out of time"
		}
		return Public{http.StatusServiceUnavailable, ErrorTypeUnavailable, msg + "; try again later (details are in the function's log)"}
	case KindNotConfigured:
		return Public{http.StatusNotImplemented, ErrorTypeNotConfigured, msg}
	}
	return Public{http.StatusInternalServerError, ErrorTypeInternal, "internal error (details are in the function's log)"}
}
