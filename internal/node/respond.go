package node

import (
	"encoding/json"
	"net/http"

	"github.com/gwtap/gwtap/internal/protocol"
)

// writeJSON answers with v as JSON. Strings are HTML-escaped (encoding/json's
// default), so even a client that sniffs the body as HTML sees no markup.
func (n *Node) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		n.log.Error("encoding a JSON answer", "error", err)
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	h := w.Header()
	h.Set(protocol.HeaderContentType, protocol.ContentTypeJSON)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		n.log.Debug("writing an answer", "error", err)
	}
}

// fail answers with an error status and a message safe for any client:
// never an internal error's text.
func (n *Node) fail(w http.ResponseWriter, status int, msg string) {
	n.writeJSON(w, status, protocol.ErrorBody{Error: msg})
}

// retryLater answers 503 with Retry-After.
func (n *Node) retryLater(w http.ResponseWriter, seconds, msg string) {
	w.Header().Set(protocol.HeaderRetryAfter, seconds)
	n.fail(w, http.StatusServiceUnavailable, msg)
}

// internalError logs err and answers 500 without its details.
func (n *Node) internalError(w http.ResponseWriter, r *http.Request, err error) {
	n.log.Error("serving a request", "method", r.Method, "path", r.URL.Path, "error", err)
	n.fail(w, http.StatusInternalServerError, "internal error")
}
