package protocol

import (
	"bytes"
	"net/http"
)

// MaxResponseBytes bounds the body of any answer a node sends. A 200 listing
// a rejection for each of MaxRecordsPerBatch records stays well under it; a
// sender reads no further, so a misbehaving node or proxy cannot make it
// buffer without limit.
const MaxResponseBytes = 4 << 20

// Action is what a sender must do with a batch after the node's answer. It is
// the status table of docs/protocol.md in code, so the sender and the node's
// tests read every status the same way.
type Action int

// Actions, from the best outcome to the worst.
const (
	// ActionDone: 200. The batch is settled; records listed in
	// Response.Rejected are kept aside by the sender, never retried.
	ActionDone Action = iota + 1
	// ActionRetry: 408, 429, 5xx, or no answer at all (network error,
	// timeout). Send the same batch again after a backoff that honours
	// Retry-After.
	ActionRetry
	// ActionSplit: 413. Split the batch in halves and send each; a single
	// record that is still too large is dropped.
	ActionSplit
	// ActionDrop: every other status (400, 401, 403, 404, 415, other 4xx,
	// 1xx, 3xx, 2xx other than 200). Sending the batch again cannot succeed:
	// keep it aside with the status and reason for an operator.
	ActionDrop
)

// String returns the action's name as docs/protocol.md spells it.
func (a Action) String() string {
	switch a {
	case ActionDone:
		return "done"
	case ActionRetry:
		return "retry"
	case ActionSplit:
		return "split"
	case ActionDrop:
		return "drop"
	}
	return "unknown"
}

// ActionFor returns what a sender does after an answer with the given HTTP
// status. Redirects are not followed (a bearer token must not travel to
// another address), so 3xx is ActionDrop like any unexpected status.
func ActionFor(status int) Action {
	switch {
	case status == http.StatusOK:
		return ActionDone
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests,
		status >= 500 && status <= 599:
		return ActionRetry
	case status == http.StatusRequestEntityTooLarge:
		return ActionSplit
	}
	return ActionDrop
}

// Rejection reasons a node uses in Rejection.Reason. A sender treats every
// reason alike (the record is kept aside, never retried), so a node may use
// others; keeping them short and stable lets an operator group dead-lettered
// records by reason.
const (
	// ReasonInvalidJSON: the line is not a JSON object.
	ReasonInvalidJSON = "invalid_json"
	// ReasonMissingID: the record has no "id", or it is empty.
	ReasonMissingID = "missing_id"
	// ReasonRecordTooLarge: the line is longer than MaxRecordBytes.
	ReasonRecordTooLarge = "record_too_large"
	// ReasonInvalidField: a known field has the wrong JSON type or an
	// impossible value (a negative status, a method with spaces, …).
	ReasonInvalidField = "invalid_field"
)

// SplitLines returns the records of a decoded request body in the order that
// defines Rejection.Index: lines end at "\n"; a line that is empty or holds
// only spaces, tabs and carriage returns is not a record and takes no index;
// the returned lines have those characters trimmed from both ends. It does
// not copy.
func SplitLines(body []byte) [][]byte {
	out := make([][]byte, 0, bytes.Count(body, []byte{'\n'})+1)
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if line = bytes.Trim(line, " \t\r"); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}
