package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/protocol"
)

// failFirst answers the first n requests with reply, then 200.
func failFirst(n int32, reply collectortest.Reply) collectortest.Script {
	var count atomic.Int32
	return func(*collectortest.Request) collectortest.Reply {
		if count.Add(1) <= n {
			return reply
		}
		return collectortest.Reply{}
	}
}

func TestDeliverRetriesTransientFailures(t *testing.T) {
	for _, reply := range []collectortest.Reply{
		{Status: 503}, {Status: 500}, {Status: 502}, {Status: 504}, {Status: 408}, {Status: 429}, {Hangup: true},
	} {
		t.Run(fmt.Sprintf("%d hangup=%v", reply.Status, reply.Hangup), func(t *testing.T) {
			node := collectortest.Start(t, failFirst(2, reply))
			c := newClient(t, testConfig(t, node.Host()), "")
			d, err := c.NewSession().Deliver(t.Context(), batch(t, "k", ids("a", 5)))
			if err != nil {
				t.Fatal(err)
			}
			if d.Accepted != 5 || d.Requests != 3 || d.Retries != 2 || len(d.Failures) != 0 {
				t.Errorf("delivery %+v", d)
			}
			for _, r := range node.Requests() {
				if r.Header.Get(protocol.HeaderIdempotencyKey) != "k" {
					t.Errorf("retry %d changed the Idempotency-Key to %q", r.N, r.Header.Get(protocol.HeaderIdempotencyKey))
				}
			}
		})
	}
}

func TestDeliverGivesUpAfterAttempts(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
		return collectortest.Reply{Status: 503, Reason: "down"}
	})
	cfg := testConfig(t, node.Host())
	cfg.Attempts = 3
	c := newClient(t, cfg, "")
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "k", ids("a", 2)))
	var e *Error
	if !errors.As(err, &e) || e.Class != Transient || e.Status != 503 || e.Reason != "down" {
		t.Fatalf("error %v", err)
	}
	if d.Requests != 3 || len(node.Requests()) != 3 || len(d.Failures) != 0 {
		t.Errorf("delivery %+v, node saw %d", d, len(node.Requests()))
	}
}

// TestDeliverHonoursRetryAfter: the wait before a retry is at least what
// Retry-After asks, capped by the policy's Max; the jittered delay alone
// would be a millisecond or two.
func TestDeliverHonoursRetryAfter(t *testing.T) {
	var times []time.Time
	script := failFirst(1, collectortest.Reply{Status: 429, RetryAfter: "30"})
	node := collectortest.Start(t, func(r *collectortest.Request) collectortest.Reply {
		times = append(times, time.Now())
		return script(r)
	})
	cfg := testConfig(t, node.Host())
	cfg.Retry.Max = 150 * time.Millisecond
	c := newClient(t, cfg, "")
	start := time.Now()
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "k", ids("a", 1)))
	if err != nil || d.Accepted != 1 || len(times) != 2 {
		t.Fatalf("%+v %v, %d requests", d, err, len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 140*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After capped at 150ms", gap)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v: Retry-After 30 was not capped", took)
	}
}

// TestDeliverNeverWaitsPastTheDeadline: a Retry-After beyond the
// invocation's deadline gives up at once, leaving the batch to redelivery.
func TestDeliverNeverWaitsPastTheDeadline(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
		return collectortest.Reply{Status: 503, RetryAfter: "5"}
	})
	cfg := testConfig(t, node.Host())
	cfg.Retry = backoff.Policy{Base: time.Millisecond, Max: 10 * time.Second, Margin: 50 * time.Millisecond}
	c := newClient(t, cfg, "")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	d, err := c.NewSession().Deliver(ctx, batch(t, "k", ids("a", 1)))
	if !errors.Is(err, backoff.ErrNoTime) {
		t.Fatalf("error %v, want ErrNoTime", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Errorf("the last answer is lost from %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond || d.Requests != 1 {
		t.Errorf("took %v and %d requests; want one request and no wait", took, d.Requests)
	}
}

func TestDeliverRetriesSlowAnswers(t *testing.T) {
	node := collectortest.Start(t, failFirst(1, collectortest.Reply{Delay: 2 * time.Second}))
	cfg := testConfig(t, node.Host())
	cfg.Timeout = 100 * time.Millisecond
	c := newClient(t, cfg, "")
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "k", ids("a", 3)))
	if err != nil || d.Accepted != 3 || d.Requests != 2 {
		t.Fatalf("%+v %v", d, err)
	}
}

// TestDeliverSplitsOn413 has a node that takes at most three records a
// request: the batch is halved until every part fits, each record arrives
// exactly once, and each part has a key of its own that names its range.
func TestDeliverSplitsOn413(t *testing.T) {
	node := collectortest.Start(t, func(r *collectortest.Request) collectortest.Reply {
		if len(r.Lines) > 3 {
			return collectortest.Reply{Status: 413, Reason: "at most 3 records"}
		}
		return collectortest.Reply{}
	})
	c := newClient(t, testConfig(t, node.Host()), "")
	want := ids("a", 10)
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", want))
	if err != nil {
		t.Fatal(err)
	}
	if d.Accepted != 10 || len(d.Failures) != 0 || d.Splits == 0 {
		t.Errorf("delivery %+v", d)
	}
	got := seen(node)
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("%s delivered %d times", id, got[id])
		}
	}
	keys := map[string]bool{}
	for _, r := range node.Requests() {
		if r.Status == 200 && len(r.Lines) > 3 {
			t.Errorf("request %d carried %d records", r.N, len(r.Lines))
		}
		key := r.Header.Get(protocol.HeaderIdempotencyKey)
		if keys[key] {
			t.Errorf("key %q used for two different parts", key)
		}
		keys[key] = true
		if r.Header.Get(protocol.HeaderRecordCount) != fmt.Sprint(len(r.Lines)) {
			t.Errorf("record count header %q for %d lines", r.Header.Get(protocol.HeaderRecordCount), len(r.Lines))
		}
	}
	for _, k := range []string{"m", "m#0-5", "m#5-10", "m#0-2", "m#2-5"} {
		if !keys[k] {
			t.Errorf("no request with key %q; keys %v", k, keys)
		}
	}
}

// TestDeliverDropsARecordTooLargeAlone: the one record the node refuses
// even alone is a Failure; the others are delivered.
func TestDeliverDropsARecordTooLargeAlone(t *testing.T) {
	node := collectortest.Start(t, func(r *collectortest.Request) collectortest.Reply {
		if slices.Contains(r.IDs, "big") {
			return collectortest.Reply{Status: 413}
		}
		return collectortest.Reply{}
	})
	c := newClient(t, testConfig(t, node.Host()), "")
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", []string{"a", "b", "big", "c"}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Accepted != 3 || len(d.Failures) != 1 {
		t.Fatalf("delivery %+v", d)
	}
	f := d.Failures[0]
	if f.Status != 413 || f.Whole || f.Records != 1 || len(f.Lines) != 1 || !strings.Contains(string(f.Lines[0]), `"big"`) {
		t.Errorf("failure %+v", f)
	}
}

func TestDeliverPermanentFailuresAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 415, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
				return collectortest.Reply{Status: status, Reason: "no"}
			})
			c := newClient(t, testConfig(t, node.Host()), "")
			d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", ids("a", 4)))
			if err != nil {
				t.Fatal(err)
			}
			if d.Requests != 1 || len(node.Requests()) != 1 {
				t.Errorf("%d requests for a permanent failure", d.Requests)
			}
			want := Failure{Status: status, Reason: "no", Whole: true, Records: 4}
			if len(d.Failures) != 1 || fmt.Sprint(d.Failures[0]) != fmt.Sprint(want) {
				t.Errorf("failures %+v, want %+v", d.Failures, want)
			}
		})
	}
}

func TestDeliverReportsRejectedRecords(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
		return collectortest.Reply{Reject: func(i int, _ string) string {
			if i == 1 || i == 3 {
				return fmt.Sprintf("bad %d", i)
			}
			return ""
		}}
	})
	c := newClient(t, testConfig(t, node.Host()), "")
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", ids("a", 5)))
	if err != nil {
		t.Fatal(err)
	}
	if d.Accepted != 3 || len(d.Failures) != 2 || d.Requests != 1 {
		t.Fatalf("delivery %+v", d)
	}
	for k, i := range []int{1, 3} {
		f := d.Failures[k]
		id := fmt.Sprintf("a-%d", i)
		if f.Status != 200 || f.Reason != fmt.Sprintf("bad %d", i) || f.Whole || len(f.Lines) != 1 ||
			!strings.Contains(string(f.Lines[0]), `"`+id+`"`) || len(f.IDs) != 1 || f.IDs[0] != id {
			t.Errorf("failure %d: %+v", k, f)
		}
	}
}

// TestDeliverIgnoresImpossibleRejections: indexes outside the batch or named
// twice are a node bug; the records they might mean were counted accepted.
func TestDeliverIgnoresImpossibleRejections(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
		return collectortest.Reply{Body: []byte(`{"accepted":1,"rejected":[{"index":1,"reason":"x"},{"index":1,"reason":"y"},{"index":7,"reason":"z"},{"index":-1,"reason":"w"}]}`)}
	})
	c := newClient(t, testConfig(t, node.Host()), "")
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", ids("a", 2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failures) != 1 || d.Failures[0].Reason != "x" {
		t.Errorf("failures %+v", d.Failures)
	}
}

// TestDeliverSplitsOversizedBatchesFirst: a batch over MaxRecordsPerBatch
// is never posted whole.
func TestDeliverSplitsOversizedBatchesFirst(t *testing.T) {
	node := collectortest.Start(t, nil)
	c := newClient(t, testConfig(t, node.Host()), "")
	n := protocol.MaxRecordsPerBatch + 5
	d, err := c.NewSession().Deliver(t.Context(), batch(t, "m", ids("r", n)))
	if err != nil {
		t.Fatal(err)
	}
	reqs := node.Requests()
	if d.Accepted != n || len(reqs) != 2 || len(reqs[0].Lines) != protocol.MaxRecordsPerBatch || len(reqs[1].Lines) != 5 {
		t.Errorf("delivery %+v; requests %d", d, len(reqs))
	}
}

// TestSplitByAnnouncedSize: the zstd frame header announces a decoded body
// over MaxBodyBytes, so the batch is split though its record count is fine,
// into parts within both limits. (Checked below Deliver: posting 16 MiB
// through a test node is slow under -race.)
func TestSplitByAnnouncedSize(t *testing.T) {
	c := newClient(t, Config{Scheme: "http", Host: "localhost"}, "")
	pad := strings.Repeat("x", 60<<10)
	var raw []byte
	for i := range 300 {
		raw = fmt.Appendf(raw, `{"id":"r-%d","user_agent":%q}`+"\n", i, pad)
	}
	enc, _ := zstd.NewWriter(nil)
	b := Batch{Key: "m", Payload: enc.EncodeAll(raw, nil), Records: 300}
	if !c.oversized(b) {
		t.Fatal("a batch announcing more than MaxBodyBytes is not oversized")
	}
	if small := batch(t, "s", ids("a", 10)); c.oversized(small) {
		t.Fatal("a small batch is oversized")
	}
	parts, err := c.chunk(&part{key: "m", base: "m", payload: b.Payload, whole: true})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		size := 0
		for _, l := range p.lines {
			size += len(l) + 1
		}
		if size > protocol.MaxBodyBytes || len(p.lines) > protocol.MaxRecordsPerBatch {
			t.Errorf("part %s: %d bytes, %d records", p.key, size, len(p.lines))
		}
		dec, _ := zstd.NewReader(nil)
		got, err := dec.DecodeAll(p.payload, nil)
		if err != nil || len(protocol.SplitLines(got)) != len(p.lines) {
			t.Errorf("part %s payload does not hold its lines: %v", p.key, err)
		}
		total += len(p.lines)
	}
	if len(parts) < 2 || total != 300 {
		t.Errorf("%d parts, %d records", len(parts), total)
	}
}

// TestDeliverCorruptPayload: a payload that cannot be decoded is posted as
// it is (the node says 400); when it must be split, it is a Failure.
func TestDeliverCorruptPayload(t *testing.T) {
	// A node may refuse by Content-Length before decoding anything.
	host := rawServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})
	c := newClient(t, testConfig(t, host), "")
	d, err := c.NewSession().Deliver(t.Context(), Batch{Key: "m", Payload: []byte("not zstd"), Records: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Failures) != 1 || !d.Failures[0].Whole || d.Failures[0].Status != 413 || !strings.Contains(d.Failures[0].Reason, "cannot split") {
		t.Errorf("failures %+v", d.Failures)
	}
	d, err = c.NewSession().Deliver(t.Context(), Batch{Key: "m", Payload: []byte("not zstd"), Records: protocol.MaxRecordsPerBatch + 1})
	if err != nil || len(d.Failures) != 1 || !d.Failures[0].Whole || d.Requests != 0 {
		t.Errorf("oversized corrupt batch: %+v %v", d, err)
	}
}

// TestBreaker: after BreakerThreshold transient failures in a row the
// session fails fast; any other answer resets the count.
func TestBreaker(t *testing.T) {
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply { return collectortest.Reply{Status: 503} })
	cfg := testConfig(t, node.Host())
	cfg.Attempts, cfg.BreakerThreshold = 2, 3
	c := newClient(t, cfg, "")
	s := c.NewSession()
	requests := func() int { return len(node.Requests()) }

	if _, err := s.Deliver(t.Context(), batch(t, "1", ids("a", 1))); err == nil || errors.Is(err, ErrCircuitOpen) || requests() != 2 {
		t.Fatalf("first batch: %v after %d requests", err, requests())
	}
	if _, err := s.Deliver(t.Context(), batch(t, "2", ids("b", 1))); !errors.Is(err, ErrCircuitOpen) || requests() != 3 || !s.Open() {
		t.Fatalf("second batch: %v after %d requests", err, requests())
	}
	d, err := s.Deliver(t.Context(), batch(t, "3", ids("c", 1)))
	var e *Error
	if !errors.Is(err, ErrCircuitOpen) || !errors.As(err, &e) || e.Class != Transient || d.Requests != 0 || requests() != 3 {
		t.Fatalf("third batch: %v, %d requests", err, requests())
	}
	// A new session (the next invocation) tries again.
	if _, err := c.NewSession().Deliver(t.Context(), batch(t, "4", ids("d", 1))); errors.Is(err, ErrCircuitOpen) || requests() != 5 {
		t.Fatalf("new session: %v after %d requests", err, requests())
	}
}

func TestBreakerResetsOnAnswer(t *testing.T) {
	var n atomic.Int32
	node := collectortest.Start(t, func(*collectortest.Request) collectortest.Reply {
		// fail, fail, ok, fail, fail, 400, fail, fail, ok
		switch n.Add(1) {
		case 3, 9:
			return collectortest.Reply{}
		case 6:
			return collectortest.Reply{Status: http.StatusBadRequest}
		}
		return collectortest.Reply{Status: 503}
	})
	cfg := testConfig(t, node.Host())
	cfg.Attempts, cfg.BreakerThreshold = 3, 3
	c := newClient(t, cfg, "")
	s := c.NewSession()
	for i := range 3 {
		if _, err := s.Deliver(t.Context(), batch(t, fmt.Sprint(i), ids(fmt.Sprint(i), 1))); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if s.Open() || n.Load() != 9 {
		t.Errorf("breaker open %v after %d requests", s.Open(), n.Load())
	}
}

// TestDeliverConcurrentSessions exercises one Session from many goroutines
// (forward posts several messages at once); run with -race.
func TestDeliverConcurrentSessions(t *testing.T) {
	node := collectortest.Start(t, failFirst(3, collectortest.Reply{Status: 503}))
	c := newClient(t, testConfig(t, node.Host()), "")
	s := c.NewSession()
	errs := make(chan error, 8)
	for g := range 8 {
		b := batch(t, fmt.Sprint(g), ids(fmt.Sprint(g), 20))
		go func() {
			_, err := s.Deliver(t.Context(), b)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if len(node.Stored()) != 160 {
		t.Errorf("stored %d of 160", len(node.Stored()))
	}
}
