package collector

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
)

// fastRetry shrinks the retry schedule to milliseconds.
var fastRetry = backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Margin: 10 * time.Millisecond}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testConfig is a valid configuration for a plain-HTTP node at host with a
// fast schedule.
func testConfig(t testing.TB, host string) Config {
	t.Helper()
	c, err := LoadConfig(env(map[string]string{EnvNodeURL: host, EnvNodeScheme: "http", EnvAppID: "7"}))
	if err != nil {
		t.Fatal(err)
	}
	c.Retry = fastRetry
	c.Timeout = 2 * time.Second
	return c
}

func newClient(t testing.TB, cfg Config, token Secret) *Client {
	t.Helper()
	hc, err := NewHTTPClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, token, hc, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	return c
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// ids returns n record ids prefix-0 … prefix-(n-1).
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// ndjson returns one small record per id.
func ndjson(ids []string) []byte {
	var b []byte
	for _, id := range ids {
		b = fmt.Appendf(b, `{"id":%q,"method":"GET","path":"/users/%s"}`+"\n", id, id)
	}
	return b
}

// batch compresses one record per id into a Batch keyed key.
func batch(t testing.TB, key string, ids []string) Batch {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return Batch{Key: key, Payload: enc.EncodeAll(ndjson(ids), nil), Records: len(ids)}
}

// seen returns how often each id reached the node in requests it answered 200.
func seen(n *collectortest.Node) map[string]int {
	out := map[string]int{}
	for _, r := range n.Requests() {
		if r.Status == 200 {
			for _, id := range r.IDs {
				out[id]++
			}
		}
	}
	return out
}

// rawServer serves h, for answers a correct node never gives.
func rawServer(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
