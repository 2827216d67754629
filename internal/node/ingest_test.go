package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
)

var recentMs = time.Now().Add(-time.Hour).UnixMilli()

func validLine(id string) string {
	return line(`{"id":%q,"method":"GET","host":"api.example.com","path":"/users/1","status":200,"ts":%d}`, id, recentMs)
}

func TestIngestEncodings(t *testing.T) {
	recs := synthRecords(500, 1)
	body := ndjson(recs)
	tests := []struct {
		name, encoding string
		body           []byte
	}{
		{"identity by default", "", body},
		{"identity", "identity", body},
		{"gzip", "gzip", gzipped(t, body)},
		{"x-gzip", "x-gzip", gzipped(t, body)},
		{"zstd", "zstd", zstded(t, body)},
		{"case and spaces", " ZSTD ", zstded(t, body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t, Config{})
			resp := mustOK(t, post(t, n.h, tt.body, protocol.HeaderContentEncoding, tt.encoding, protocol.HeaderRecordCount, "500"))
			if resp.Accepted != 500 || resp.Duplicates != 0 || len(resp.Rejected) != 0 {
				t.Errorf("got %+v, want 500 accepted", resp)
			}
			if c, _ := n.store.Count(t.Context()); c != 500 {
				t.Errorf("store holds %d records", c)
			}
			if st := n.disc.Stats(); st.Records != 500 {
				t.Errorf("discoverer saw %d records", st.Records)
			}
		})
	}
}

func TestIngestDuplicates(t *testing.T) {
	n := newTestNode(t, Config{})
	recs := synthRecords(100, 2)
	mustOK(t, post(t, n.h, ndjson(recs[:60])))
	resp := mustOK(t, post(t, n.h, ndjson(recs)))
	if resp.Accepted != 40 || resp.Duplicates != 60 {
		t.Errorf("second batch: %+v, want 40 accepted and 60 duplicates", resp)
	}
	// The same record twice in one batch is one record.
	twice := append(synthRecords(1, 3), synthRecords(1, 3)...)
	resp = mustOK(t, post(t, n.h, ndjson(twice)))
	if resp.Accepted != 1 || resp.Duplicates != 1 {
		t.Errorf("a record twice in a batch: %+v", resp)
	}
	if st := n.disc.Stats(); st.Records != 101 {
		t.Errorf("discoverer saw %d records, want each once (101)", st.Records)
	}
}

func TestIngestApplicationID(t *testing.T) {
	n := newTestNode(t, Config{})
	body := validLine("a") + "\n" + line(`{"id":"b","app":"own","method":"GET","path":"/x","status":200}`) + "\n"
	mustOK(t, post(t, n.h, []byte(body), protocol.HeaderApplicationID, "from-header"))
	recs, err := n.store.Recent(t.Context(), func(*record.Record) bool { return true }, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	apps := map[string]string{}
	for _, r := range recs {
		apps[r.ID] = r.AppID
	}
	if want := map[string]string{"a": "from-header", "b": "own"}; !reflect.DeepEqual(apps, want) {
		t.Errorf("applications %v, want %v", apps, want)
	}
	// Deduplication is per application: the same id elsewhere is new.
	resp := mustOK(t, post(t, n.h, []byte(validLine("a")+"\n"), protocol.HeaderApplicationID, "other"))
	if resp.Accepted != 1 {
		t.Errorf("same id in another application: %+v", resp)
	}
}

func TestIngestRejections(t *testing.T) {
	future := time.Now().Add(30 * 24 * time.Hour).UnixMilli()
	long := strings.Repeat("a", protocol.MaxRecordBytes)
	tests := []struct {
		name, line, reason string
	}{
		{"not JSON", `hello`, protocol.ReasonInvalidJSON},
		{"truncated JSON", `{"id":"x","method":"GET"`, protocol.ReasonInvalidJSON},
		{"array", `[1,2]`, protocol.ReasonInvalidJSON},
		{"string", `"x"`, protocol.ReasonInvalidJSON},
		{"two objects on a line", validLine("x") + validLine("y"), protocol.ReasonInvalidJSON},
		{"invalid UTF-8", `{"id":"x","method":"GET","path":"/` + "\xff\xfe" + `"}`, protocol.ReasonInvalidJSON},
		{"line over the limit", `{"id":"x","method":"GET","path":"/` + long + `"}`, protocol.ReasonRecordTooLarge},
		{"missing id", `{"method":"GET","path":"/x"}`, protocol.ReasonMissingID},
		{"empty id", `{"id":"","method":"GET","path":"/x"}`, protocol.ReasonMissingID},
		{"null", `null`, protocol.ReasonInvalidJSON},
		{"missing method", `{"id":"x","path":"/x"}`, ReasonMissingMethod},
		{"missing path", `{"id":"x","method":"GET"}`, ReasonMissingPath},
		{"id of wrong type", `{"id":5,"method":"GET","path":"/x"}`, protocol.ReasonInvalidField},
		{"status of wrong type", `{"id":"x","method":"GET","path":"/x","status":"200"}`, protocol.ReasonInvalidField},
		{"ts of wrong type", `{"id":"x","method":"GET","path":"/x","ts":"yesterday"}`, protocol.ReasonInvalidField},
		{"fractional latency", `{"id":"x","method":"GET","path":"/x","latency_ms":1.5}`, protocol.ReasonInvalidField},
		{"status out of range", `{"id":"x","method":"GET","path":"/x","status":999}`, protocol.ReasonInvalidField},
		{"negative status", `{"id":"x","method":"GET","path":"/x","status":-1}`, protocol.ReasonInvalidField},
		{"negative latency", `{"id":"x","method":"GET","path":"/x","latency_ms":-5}`, protocol.ReasonInvalidField},
		{"latency of a year", `{"id":"x","method":"GET","path":"/x","latency_ms":31536000000}`, protocol.ReasonInvalidField},
		{"negative size", `{"id":"x","method":"GET","path":"/x","resp_bytes":-1}`, protocol.ReasonInvalidField},
		{"size of a petabyte", `{"id":"x","method":"GET","path":"/x","resp_bytes":1000000000000000}`, protocol.ReasonInvalidField},
		{"time before API Gateway", `{"id":"x","method":"GET","path":"/x","ts":1000}`, protocol.ReasonInvalidField},
		{"time in the future", line(`{"id":"x","method":"GET","path":"/x","ts":%d}`, future), protocol.ReasonInvalidField},
		{"event time in the future", line(`{"id":"x","method":"GET","path":"/x","event_ts":%d}`, future), protocol.ReasonInvalidField},
		{"method with a space", `{"id":"x","method":"GET X","path":"/x"}`, protocol.ReasonInvalidField},
		{"method too long", `{"id":"x","method":"` + strings.Repeat("G", 40) + `","path":"/x"}`, protocol.ReasonInvalidField},
		{"relative path", `{"id":"x","method":"GET","path":"x/y"}`, protocol.ReasonInvalidField},
		{"path too long", `{"id":"x","method":"GET","path":"/` + strings.Repeat("a", 9000) + `"}`, protocol.ReasonInvalidField},
		{"host with a space", `{"id":"x","method":"GET","path":"/x","host":"a b"}`, protocol.ReasonInvalidField},
		{"host with a slash", `{"id":"x","method":"GET","path":"/x","host":"a/b"}`, protocol.ReasonInvalidField},
		{"id with a newline escape", `{"id":"a\nb","method":"GET","path":"/x"}`, protocol.ReasonInvalidField},
		{"id too long", `{"id":"` + strings.Repeat("i", 300) + `","method":"GET","path":"/x"}`, protocol.ReasonInvalidField},
		{"integration status out of range", `{"id":"x","method":"GET","path":"/x","integration_status":42}`, protocol.ReasonInvalidField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t, Config{})
			// The bad record sits between two good ones, which are stored.
			body := validLine("before") + "\n" + tt.line + "\n" + validLine("after") + "\n"
			resp := mustOK(t, post(t, n.h, []byte(body)))
			if resp.Accepted != 2 || len(resp.Rejected) != 1 {
				t.Fatalf("got %+v, want 2 accepted and 1 rejected", resp)
			}
			if rej := resp.Rejected[0]; rej.Index != 1 || rej.Reason != tt.reason {
				t.Errorf("rejection %+v, want index 1 reason %s", rej, tt.reason)
			}
		})
	}
}

func TestIngestRejectionIndexSkipsBlankLines(t *testing.T) {
	n := newTestNode(t, Config{})
	body := "\n  \n" + validLine("a") + "\r\n\n\t\nbroken\n" + validLine("b")
	resp := mustOK(t, post(t, n.h, []byte(body), protocol.HeaderRecordCount, "3"))
	if resp.Accepted != 2 || len(resp.Rejected) != 1 || resp.Rejected[0].Index != 1 {
		t.Errorf("got %+v, want the broken line at index 1", resp)
	}
	if resp := mustOK(t, post(t, n.h, nil)); resp.Accepted != 0 || resp.Rejected != nil {
		t.Errorf("empty batch: %+v", resp)
	}
}

func TestIngestRejectionCarriesID(t *testing.T) {
	n := newTestNode(t, Config{})
	resp := mustOK(t, post(t, n.h, []byte(`{"id":"keep-me","method":"GET","path":"nope"}`)))
	if len(resp.Rejected) != 1 || resp.Rejected[0].ID != "keep-me" {
		t.Errorf("got %+v", resp)
	}
}

func TestIngestBatchErrors(t *testing.T) {
	body := []byte(validLine("a") + "\n")
	bigIdentity := bytes.Repeat([]byte(" "), protocol.MaxBodyBytes+rawSlack+1)
	bomb := bytes.Repeat([]byte("\n"), protocol.MaxBodyBytes+1)
	tooMany := []byte(strings.Repeat("{}\n", protocol.MaxRecordsPerBatch+1))
	gz := gzipped(t, body)
	zs := zstded(t, body)
	tests := []struct {
		name    string
		body    []byte
		headers []string
		status  int
	}{
		{"unknown encoding", body, []string{protocol.HeaderContentEncoding, "br"}, http.StatusUnsupportedMediaType},
		{"two encodings", body, []string{protocol.HeaderContentEncoding, "gzip, zstd"}, http.StatusUnsupportedMediaType},
		{"wrong content type", body, []string{protocol.HeaderContentType, "text/html"}, http.StatusUnsupportedMediaType},
		{"malformed content type", body, []string{protocol.HeaderContentType, "/;;"}, http.StatusUnsupportedMediaType},
		{"not gzip", body, []string{protocol.HeaderContentEncoding, "gzip"}, http.StatusBadRequest},
		{"truncated gzip", gz[:len(gz)-6], []string{protocol.HeaderContentEncoding, "gzip"}, http.StatusBadRequest},
		{"gzip with a bad checksum", corrupt(gz, len(gz)-6), []string{protocol.HeaderContentEncoding, "gzip"}, http.StatusBadRequest},
		{"not zstd", body, []string{protocol.HeaderContentEncoding, "zstd"}, http.StatusBadRequest},
		{"truncated zstd", zs[:len(zs)-4], []string{protocol.HeaderContentEncoding, "zstd"}, http.StatusBadRequest},
		{"zstd with a bad checksum", corrupt(zs, len(zs)-2), []string{protocol.HeaderContentEncoding, "zstd"}, http.StatusBadRequest},
		{"gzip bomb", gzipped(t, bomb), []string{protocol.HeaderContentEncoding, "gzip"}, http.StatusRequestEntityTooLarge},
		{"zstd bomb", zstded(t, bomb), []string{protocol.HeaderContentEncoding, "zstd"}, http.StatusRequestEntityTooLarge},
		{"body too large", bigIdentity, nil, http.StatusRequestEntityTooLarge},
		{"too many records", tooMany, nil, http.StatusRequestEntityTooLarge},
		{"record count over the limit", body, []string{protocol.HeaderRecordCount, strconv.Itoa(protocol.MaxRecordsPerBatch + 1)}, http.StatusRequestEntityTooLarge},
		{"record count not a number", body, []string{protocol.HeaderRecordCount, "many"}, http.StatusBadRequest},
		{"negative record count", body, []string{protocol.HeaderRecordCount, "-1"}, http.StatusBadRequest},
		{"record count disagrees", body, []string{protocol.HeaderRecordCount, "2"}, http.StatusBadRequest},
		{"application id with a newline", body, []string{protocol.HeaderApplicationID, "a\x01b"}, http.StatusBadRequest},
		{"application id too long", body, []string{protocol.HeaderApplicationID, strings.Repeat("a", 300)}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t, Config{})
			w := post(t, n.h, tt.body, tt.headers...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body.String())
			}
			if e := decodeJSON[protocol.ErrorBody](t, w); e.Error == "" {
				t.Error("error body has no message")
			}
			if c, _ := n.store.Count(t.Context()); c != 0 {
				t.Errorf("a refused batch stored %d records", c)
			}
		})
	}
}

// corrupt returns a copy of b with the byte at i flipped.
func corrupt(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

func TestIngestAuth(t *testing.T) {
	body := []byte(validLine("a") + "\n")
	tests := []struct {
		name, token, header string
		status              int
	}{
		{"no token configured", "", "", http.StatusOK},
		{"no token configured, one sent", "", "Bearer whatever", http.StatusOK},
		{"missing", "s3cret", "", http.StatusUnauthorized},
		{"wrong", "s3cret", "Bearer s3cres", http.StatusUnauthorized},
		{"prefix of the token", "s3cret", "Bearer s3cre", http.StatusUnauthorized},
		{"longer than the token", "s3cret", "Bearer s3cret0", http.StatusUnauthorized},
		{"wrong scheme", "s3cret", "Basic s3cret", http.StatusUnauthorized},
		{"no scheme", "s3cret", "s3cret", http.StatusUnauthorized},
		{"right", "s3cret", "Bearer s3cret", http.StatusOK},
		{"scheme in lower case", "s3cret", "bearer s3cret", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t, Config{Token: tt.token})
			var headers []string
			if tt.header != "" {
				headers = []string{protocol.HeaderAuthorization, tt.header}
			}
			w := post(t, n.h, body, headers...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body.String())
			}
			if w.Code == http.StatusUnauthorized {
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if c, _ := n.store.Count(t.Context()); c != 0 {
					t.Error("an unauthorised batch was stored")
				}
			}
		})
	}
}

func TestIngestStoreFailures(t *testing.T) {
	body := []byte(validLine("a") + "\n")
	tests := []struct {
		name       string
		err        error
		retryAfter string
		degraded   bool
	}{
		{"overloaded", fmt.Errorf("wrapped: %w", inventory.ErrOverloaded), retryOverloaded, false},
		{"closed", inventory.ErrClosed, retryStopping, false},
		{"broken", errors.New("disk I/O error"), retryStopping, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := true
			store := &fakeStore{appendFn: func(_ context.Context, recs []record.Record) (inventory.Appended, error) {
				if fail {
					return inventory.Appended{}, tt.err
				}
				return allNew(recs), nil
			}}
			n, err := New(Config{}, store, testDiscovery())
			if err != nil {
				t.Fatal(err)
			}
			h := n.Handler()
			w := post(t, h, body)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get(protocol.HeaderRetryAfter) != tt.retryAfter {
				t.Fatalf("status %d Retry-After %q, want 503 and %s", w.Code, w.Header().Get(protocol.HeaderRetryAfter), tt.retryAfter)
			}
			if strings.Contains(w.Body.String(), "disk") {
				t.Errorf("internal error text reached the client: %s", w.Body.String())
			}
			health := get(t, h, protocol.HealthPath)
			if got := health.Code == http.StatusServiceUnavailable; got != tt.degraded {
				t.Errorf("health status %d after the failure", health.Code)
			}
			fail = false
			mustOK(t, post(t, h, body))
			if health := get(t, h, protocol.HealthPath); health.Code != http.StatusOK {
				t.Errorf("health status %d after a success", health.Code)
			}
		})
	}
}

func TestIngestTooManyBatchesInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	store := &fakeStore{appendFn: func(_ context.Context, recs []record.Record) (inventory.Appended, error) {
		close(entered)
		<-release
		return allNew(recs), nil
	}}
	n, err := New(Config{MaxConcurrentBatches: 1}, store, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	h := n.Handler()
	body := []byte(validLine("a") + "\n")
	var wg sync.WaitGroup
	wg.Go(func() { mustOK(t, post(t, h, body)) })
	<-entered
	w := post(t, h, body)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get(protocol.HeaderRetryAfter) == "" {
		t.Errorf("second batch in flight: status %d, want 503 with Retry-After", w.Code)
	}
	close(release)
	wg.Wait()
}

func TestIngestWhileDraining(t *testing.T) {
	n := newTestNode(t, Config{})
	n.draining.Store(true)
	w := post(t, n.h, []byte(validLine("a")+"\n"))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get(protocol.HeaderRetryAfter) == "" {
		t.Errorf("status %d, want 503 with Retry-After", w.Code)
	}
	if h := get(t, n.h, protocol.HealthPath); h.Code != http.StatusServiceUnavailable {
		t.Errorf("health %d while draining", h.Code)
	}
}

func TestIngestMethodNotAllowed(t *testing.T) {
	n := newTestNode(t, Config{})
	if w := get(t, n.h, protocol.RecordsPath); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d", protocol.RecordsPath, w.Code)
	}
}

func TestHealth(t *testing.T) {
	n := newTestNode(t, Config{Version: "v1.2.3"})
	mustOK(t, post(t, n.h, ndjson(synthRecords(3, 4))))
	w := get(t, n.h, protocol.HealthPath)
	h := decodeJSON[protocol.Health](t, w)
	if w.Code != http.StatusOK || h.Status != "ok" || h.Version != "v1.2.3" || h.Records != 3 {
		t.Errorf("health %d %+v", w.Code, h)
	}
}
