package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/sqlite"
)

// running is a node served by Run on a loopback port.
type running struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, with its error in err
	err    error
}

func runNode(t *testing.T, n *Node) *running {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = n.Run(ctx, ln)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func httpPost(ctx context.Context, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+protocol.RecordsPath, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(protocol.HeaderContentType, protocol.ContentTypeNDJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// gatedStore holds every Append until the gate opens.
type gatedStore struct {
	inventory.Store
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *gatedStore) Append(ctx context.Context, recs []record.Record) (inventory.Appended, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.gate
	return g.Store.Append(ctx, recs)
}

func TestRunFinishesInFlightBatchesOnShutdown(t *testing.T) {
	base := newTestNode(t, Config{})
	store := &gatedStore{Store: base.store, entered: make(chan struct{}), gate: make(chan struct{})}
	n, err := New(Config{ShutdownTimeout: 10 * time.Second}, store, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	r := runNode(t, n)
	type result struct {
		status int
		body   []byte
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		s, b, err := httpPost(t.Context(), r.url, ndjson(synthRecords(300, 5)))
		inflight <- result{s, b, err}
	}()
	<-store.entered
	r.cancel() // SIGTERM, in effect
	time.Sleep(100 * time.Millisecond)
	select {
	case <-r.done:
		t.Fatalf("Run returned %v with a batch in flight", r.err)
	default:
	}
	if _, _, err := httpPost(t.Context(), r.url, ndjson(synthRecords(1, 6))); err == nil {
		t.Error("a new connection was accepted while shutting down")
	}
	close(store.gate)
	res := <-inflight
	if res.err != nil || res.status != http.StatusOK {
		t.Fatalf("in-flight batch: %d %s %v", res.status, res.body, res.err)
	}
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the in-flight batch")
	}
	if c, _ := base.store.Count(t.Context()); c != 300 {
		t.Errorf("store holds %d records, want the 300 of the in-flight batch", c)
	}
}

func TestRunRebuildsTheInventory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := New(Config{}, store, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	recs := synthRecords(5000, 8)
	for i := 0; i < len(recs); i += 1000 {
		mustOK(t, post(t, first.Handler(), ndjson(recs[i:i+1000])))
	}
	before := inventoryPage(t, first.Handler(), "limit=1000")
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	second, err := New(Config{}, store, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	r := runNode(t, second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := httpGet(t, r.url+"/v1/stats")
		if strings.Contains(string(body), `"rebuilding":false`) && strings.Contains(string(body), `"rebuilt":5000`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild did not finish: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := inventoryPage(t, second.Handler(), "limit=1000")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("inventory after restart differs: %d endpoints before, %d after", before.Total, after.Total)
	}
	// Records already stored are duplicates after the restart.
	resp := mustOK(t, post(t, second.Handler(), ndjson(recs[:10])))
	if resp.Duplicates != 10 {
		t.Errorf("after restart: %+v, want 10 duplicates", resp)
	}
}

func TestRebuildCountsRecordsTakenMeanwhileOnce(t *testing.T) {
	n := newTestNode(t, Config{})
	if _, err := n.store.Append(t.Context(), synthRecords(2000, 9)); err != nil {
		t.Fatal(err)
	}
	end, err := n.store.Position(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Records arrive after the rebuild's end was fixed, before it runs.
	mustOK(t, post(t, n.h, ndjson(synthRecords(500, 10))))
	if err := n.Rebuild(t.Context(), end); err != nil {
		t.Fatal(err)
	}
	if got := n.disc.Stats().Records; got != 2500 {
		t.Errorf("discoverer saw %d records, want 2500", got)
	}
}

// failingScan is a store whose Scan fails.
type failingScan struct{ inventory.Store }

func (failingScan) Scan(context.Context, inventory.Position, int, func([]record.Record) error) error {
	return errors.New("disk on fire")
}

func TestRunKeepsServingWhenRebuildFails(t *testing.T) {
	base := newTestNode(t, Config{})
	n, err := New(Config{}, failingScan{base.store}, testDiscovery())
	if err != nil {
		t.Fatal(err)
	}
	r := runNode(t, n)
	status, body, err := httpPost(t.Context(), r.url, ndjson(synthRecords(5, 11)))
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST after a failed rebuild: %d %s %v", status, body, err)
	}
	if status, _ := httpGet(t, r.url+protocol.HealthPath); status != http.StatusOK {
		t.Errorf("health %d", status)
	}
}

func TestRebuildStopsWithItsContext(t *testing.T) {
	n := newTestNode(t, Config{})
	if _, err := n.store.Append(t.Context(), synthRecords(100, 12)); err != nil {
		t.Fatal(err)
	}
	end, _ := n.store.Position(t.Context())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := n.Rebuild(ctx, end); !errors.Is(err, context.Canceled) {
		t.Errorf("Rebuild with a cancelled context returned %v", err)
	}
}

const killEnv = "GWTAP_NODE_KILL_HELPER"

// TestKillHelper is the node process TestNothingLostAfterKill kills.
func TestKillHelper(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("helper process for TestNothingLostAfterKill")
	}
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	n, err := New(Config{}, store, testDiscovery())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("listening", ln.Addr().String())
	err = n.Run(t.Context(), ln)
	fmt.Println("error: Run returned", err)
	os.Exit(3)
}

// TestNothingLostAfterKill posts batches to a node process, and once each
// was answered 200, kills the process with SIGKILL: no graceful shutdown,
// no store Close. Every record answered for is in the store afterwards.
func TestNothingLostAfterKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), killEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(out)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			addr = a
			break
		}
		if strings.HasPrefix(sc.Text(), "error:") {
			t.Fatal(sc.Text())
		}
	}
	if addr == "" {
		t.Fatal("the node process did not start")
	}
	recs := synthRecords(3000, 13)
	for i := 0; i < len(recs); i += 1000 {
		status, body, err := httpPost(t.Context(), "http://"+addr, ndjson(recs[i:i+1000]))
		if err != nil || status != http.StatusOK {
			t.Fatalf("batch %d: %d %s %v", i/1000, status, body, err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	if err := cmd.Wait(); err == nil {
		t.Fatal("the node process exited cleanly; it should have been killed")
	}

	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if c, _ := store.Count(t.Context()); c != 3000 {
		t.Fatalf("after SIGKILL the store holds %d records, want 3000", c)
	}
	end, _ := store.Position(t.Context())
	var got []record.Record
	if err := store.Scan(t.Context(), end, 1000, func(b []record.Record) error {
		got = append(got, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Error("the records read back differ from the ones posted")
	}
}
