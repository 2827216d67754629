package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/sqlite"
	"github.com/gwtap/gwtap/internal/synth"
)

// testStart is when synthetic traffic begins: recent enough to pass the
// node's time checks whenever the tests run.
var testStart = time.Now().Add(-24 * time.Hour).Truncate(time.Hour).UTC()

// synthRecords returns n realistic records, as the forward function sends
// them, from synth's traffic with seed.
func synthRecords(n int, seed uint64) []record.Record {
	g := synth.New(seed, testStart)
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = recordOf(g.Next())
	}
	return recs
}

func recordOf(req synth.Request) record.Record {
	r := record.Record{
		ID: req.ID, AppID: "", Time: req.Time.UnixMilli(), EventTime: req.Time.UnixMilli() + 800,
		Method: req.Route.Method, Host: req.Route.Host, Path: req.Path, Protocol: "HTTP/1.1",
		Stage: req.Route.Stage, Status: req.Status, ResponseBytes: int64(req.Bytes), LatencyMs: int64(req.Latency),
		SourceIP: req.IP, UserAgent: req.Agent, LogGroup: "/aws/apigateway/gwtap-demo",
		LogStream: "stream-1", Account: "123456789012",
	}
	if req.Status < 400 {
		r.IntegrationStatus = req.Status
		r.IntegrationLatency = int64(max(req.Latency-3, 1))
	}
	return r
}

// ndjson encodes recs as a request body.
func ndjson(recs []record.Record) []byte {
	var b []byte
	for i := range recs {
		b = recs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zstded(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// testDiscovery lists an endpoint from its first successful request, so
// small tests see endpoints.
func testDiscovery() *discovery.Discoverer {
	cfg := discovery.DefaultConfig()
	cfg.MinRequests = 1
	return discovery.New(cfg)
}

type testNode struct {
	*Node
	store *sqlite.Store
	path  string
	h     http.Handler
}

// newTestNode returns a node on a fresh SQLite store in a temporary
// directory, closed when the test ends.
func newTestNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("closing store: %v", err)
		}
	})
	n, err := New(cfg, store, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{Node: n, store: store, path: path, h: n.Handler()}
}

// post sends body to POST /v1/records with the given headers (name, value
// pairs).
func post(t testing.TB, h http.Handler, body []byte, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, protocol.RecordsPath, bytes.NewReader(body))
	req.Header.Set(protocol.HeaderContentType, protocol.ContentTypeNDJSON)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeJSON[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, w.Body.String())
	}
	return v
}

func mustOK(t testing.TB, w *httptest.ResponseRecorder) protocol.Response {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body.String())
	}
	return decodeJSON[protocol.Response](t, w)
}

// fakeStore is an inventory.Store whose Append a test scripts; the other
// methods panic unless the embedded Store is set.
type fakeStore struct {
	inventory.Store
	appendFn func(ctx context.Context, recs []record.Record) (inventory.Appended, error)
}

func (f *fakeStore) Append(ctx context.Context, recs []record.Record) (inventory.Appended, error) {
	return f.appendFn(ctx, recs)
}

func (f *fakeStore) Count(context.Context) (int64, error) { return 0, nil }

func allNew(recs []record.Record) inventory.Appended {
	a := inventory.Appended{New: make([]bool, len(recs)), Accepted: len(recs)}
	for i := range a.New {
		a.New[i] = true
	}
	return a
}

func line(format string, args ...any) string {
	return fmt.Sprintf(format, args...)
}
