package collectortest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/protocol"
)

// Request is one request the node received.
type Request struct {
	// N numbers requests from 1 in arrival order.
	N      int
	Header http.Header
	// Body is the body as sent (compressed).
	Body []byte
	// Lines are the decoded records, as protocol.SplitLines splits them.
	Lines [][]byte
	// IDs are the records' "id" fields, "" where a line has none.
	IDs []string
	// Status is what the node answered; 0 when it hung up.
	Status int
}

// Reply is how the node answers one request.
type Reply struct {
	// Status is the HTTP status; 0 means 200 with a protocol.Response.
	Status int
	// Reason is the ErrorBody message of a non-200 answer.
	Reason string
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Reject, for a 200, returns the reason to reject record i (with id),
	// or "" to take it.
	Reject func(i int, id string) string
	// Body replaces the answer's body when not nil.
	Body []byte
	// Delay is waited before answering (or hanging up), unless the client
	// gives up first.
	Delay time.Duration
	// Hangup closes the connection with a reset instead of answering.
	Hangup bool
}

// Script decides the reply to each request; nil answers every request 200.
type Script func(r *Request) Reply

// Node is a running test node.
type Node struct {
	*httptest.Server
	dec    *zstd.Decoder
	script Script

	mu       sync.Mutex
	requests []*Request
	stored   map[string]bool
	order    []string
}

// Start starts a node over plain HTTP for t, closed when t ends.
func Start(t testing.TB, script Script) *Node {
	t.Helper()
	n := newNode(t, script)
	n.Server = httptest.NewServer(n)
	t.Cleanup(n.Close)
	return n
}

// NewUnstarted returns a node whose server is not started yet, so a test
// can adjust its http.Server (ConnState, ErrorLog) before calling Start, or
// StartTLS for HTTPS with httptest's self-signed certificate (Certificate
// returns it, for a client to trust); it is closed when t ends.
func NewUnstarted(t testing.TB, script Script) *Node {
	t.Helper()
	n := newNode(t, script)
	n.Server = httptest.NewUnstartedServer(n)
	t.Cleanup(n.Close)
	return n
}

func newNode(t testing.TB, script Script) *Node {
	t.Helper()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return &Node{dec: dec, script: script, stored: map[string]bool{}}
}

// Host returns the node's host:port, the form of X_NODE_URL.
func (n *Node) Host() string { return n.Listener.Addr().String() }

// ServeHTTP implements the protocol's two endpoints.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == protocol.HealthPath && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, protocol.Health{Status: "ok", Records: int64(len(n.Stored()))})
		return
	case r.URL.Path != protocol.RecordsPath:
		writeJSON(w, http.StatusNotFound, protocol.ErrorBody{Error: "no such endpoint"})
		return
	case r.Method != http.MethodPost:
		writeJSON(w, http.StatusMethodNotAllowed, protocol.ErrorBody{Error: "use POST"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxBodyBytes+1))
	if err != nil {
		return
	}
	req := &Request{Header: r.Header.Clone(), Body: body}
	n.mu.Lock()
	n.requests = append(n.requests, req)
	req.N = len(n.requests)
	n.mu.Unlock()

	raw, err := n.decode(r.Header.Get(protocol.HeaderContentEncoding), body)
	if err != nil {
		n.answer(w, req, Reply{Status: http.StatusBadRequest, Reason: err.Error()})
		return
	}
	req.Lines = protocol.SplitLines(raw)
	for _, l := range req.Lines {
		var rec struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(l, &rec)
		req.IDs = append(req.IDs, rec.ID)
	}
	reply := Reply{}
	if n.script != nil {
		reply = n.script(req)
	}
	if reply.Delay > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(reply.Delay):
		}
	}
	if reply.Hangup {
		hangup(w)
		return
	}
	n.answer(w, req, reply)
}

func (n *Node) decode(encoding string, body []byte) ([]byte, error) {
	switch encoding {
	case protocol.EncodingZstd:
		out, err := n.dec.DecodeAll(body, nil)
		if err != nil {
			return nil, fmt.Errorf("corrupt zstd body: %w", err)
		}
		return out, nil
	case protocol.EncodingGzip:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip body: %w", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip body: %w", err)
		}
		return out, nil
	case "", protocol.EncodingIdentity:
		return body, nil
	}
	return nil, fmt.Errorf("unsupported Content-Encoding %q", encoding)
}

func (n *Node) answer(w http.ResponseWriter, req *Request, reply Reply) {
	if reply.RetryAfter != "" {
		w.Header().Set(protocol.HeaderRetryAfter, reply.RetryAfter)
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	n.mu.Lock()
	req.Status = status
	n.mu.Unlock()
	if reply.Body != nil {
		w.WriteHeader(status)
		_, _ = w.Write(reply.Body)
		return
	}
	if status != http.StatusOK {
		writeJSON(w, status, protocol.ErrorBody{Error: reply.Reason})
		return
	}
	var resp protocol.Response
	n.mu.Lock()
	for i, id := range req.IDs {
		reason := ""
		if reply.Reject != nil {
			reason = reply.Reject(i, id)
		}
		switch {
		case reason == "" && id == "":
			reason = protocol.ReasonMissingID
		case reason != "":
		case n.stored[id]:
			resp.Duplicates++
			continue
		default:
			n.stored[id] = true
			n.order = append(n.order, id)
			resp.Accepted++
			continue
		}
		resp.Rejected = append(resp.Rejected, protocol.Rejection{Index: i, ID: id, Reason: reason})
	}
	n.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// hangup resets the connection without answering.
func hangup(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 cannot hand over its connection; a 502 is the nearest
		// transient failure it can give.
		writeJSON(w, http.StatusBadGateway, protocol.ErrorBody{Error: "collectortest: cannot hang up on HTTP/2"})
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with RST, as a crashed peer would
	}
	_ = conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set(protocol.HeaderContentType, protocol.ContentTypeJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Requests returns every request received so far.
func (n *Node) Requests() []*Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Request, len(n.requests))
	copy(out, n.requests)
	return out
}

// Stored returns the ids the node accepted, in order, each once.
func (n *Node) Stored() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.order...)
}

// Has reports whether the node stored id.
func (n *Node) Has(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stored[id]
}
