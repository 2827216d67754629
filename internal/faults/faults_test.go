package faults

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// smallMessages makes ingest pack a few hundred records per SQS message, so
// a scenario has many messages and batches to fail.
var smallMessages = map[string]string{"GWTAP_MAX_MESSAGE_BYTES": "16384"}

// TestNodeFaults runs the pipeline against a node that fails in one way
// each, and checks that every record reaches it exactly once after
// deduplication and nothing is left anywhere.
func TestNodeFaults(t *testing.T) {
	type scenario struct {
		name string
		opts options
		// script is the node's behaviour; on is turned off after outage
		// (or never, when outage is 0) by the test.
		script func(on *atomic.Bool) script
		outage time.Duration
		// toDLQ: the failure outlasts the redrive policy (or is permanent),
		// so the records end in the DLQ and must be replayed.
		toDLQ bool
		// fix is run once the DLQ holds the records, before the replay.
		fix func(h *harness)
		// check adds scenario-specific assertions.
		check func(t *testing.T, h *harness, c counts, dlq []dlqMessage)
	}
	down := func(on *atomic.Bool) script {
		return func(int64, *http.Request, []byte) action {
			if on.Load() {
				return action{status: http.StatusServiceUnavailable, retryAfter: "1"}
			}
			return action{}
		}
	}
	every := func(k int64, a action) func(*atomic.Bool) script {
		return func(*atomic.Bool) script {
			return func(n int64, _ *http.Request, _ []byte) action {
				if n%k == 1 {
					return a
				}
				return action{}
			}
		}
	}
	noDLQ := func(t *testing.T, _ *harness, c counts, dlq []dlqMessage) {
		t.Helper()
		if len(dlq) != 0 || c.DeadLetter != 0 {
			t.Errorf("%d messages dead-lettered (%d in the DLQ) for a transient fault", c.DeadLetter, len(dlq))
		}
		if c.Faulted == 0 {
			t.Error("the fault never fired")
		}
	}
	scenarios := []scenario{
		{
			name: "node down, then back", opts: options{maxReceive: scale(20, 200)},
			script: down, outage: scale(3*time.Second, 30*time.Second),
			check: func(t *testing.T, h *harness, c counts, dlq []dlqMessage) {
				noDLQ(t, h, c, dlq)
				if c.Redelivered == 0 {
					t.Error("no message was left for redelivery during the outage")
				}
			},
		},
		{
			name: "node down longer than the redrive policy", opts: options{maxReceive: 2},
			script: down, toDLQ: true,
		},
		{
			name: "flapping 5xx", opts: options{maxReceive: 10},
			script: func(*atomic.Bool) script {
				statuses := []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout}
				return func(n int64, _ *http.Request, _ []byte) action {
					if n%2 == 1 {
						return action{status: statuses[(n/2)%int64(len(statuses))]}
					}
					return action{}
				}
			},
			check: noDLQ,
		},
		{
			name: "429 with Retry-After", opts: options{maxReceive: 10},
			script: every(3, action{status: http.StatusTooManyRequests, retryAfter: "1"}),
			check: func(t *testing.T, h *harness, c counts, dlq []dlqMessage) {
				noDLQ(t, h, c, dlq)
				if c.Retries == 0 {
					t.Error("no retry after a 429")
				}
			},
		},
		{
			name: "answers slower than the timeout", opts: options{maxReceive: 10},
			script: every(4, action{delay: 1500 * time.Millisecond}),
			check: func(t *testing.T, h *harness, c counts, dlq []dlqMessage) {
				t.Helper()
				if len(dlq) != 0 || c.DeadLetter != 0 {
					t.Errorf("%d messages dead-lettered for slow answers", c.DeadLetter)
				}
				if c.Retries+c.Redelivered == 0 {
					t.Error("no retry after a timeout")
				}
			},
		},
		{
			name: "connection resets", opts: options{maxReceive: 10},
			script: every(2, action{reset: true}),
			check:  noDLQ,
		},
		{
			name: "413 above 4 KiB", opts: options{maxReceive: 10},
			script: func(*atomic.Bool) script {
				return func(_ int64, _ *http.Request, body []byte) action {
					if len(body) > 4<<10 {
						return action{status: http.StatusRequestEntityTooLarge}
					}
					return action{}
				}
			},
			check: noDLQ,
		},
		{
			name: "401 bad token", opts: options{maxReceive: 10, nodeToken: "right-token-1234", fwdToken: "wrong-token-5678"},
			toDLQ: true,
			fix:   func(h *harness) { h.setForward("right-token-1234") }, // a new container with the right token
			check: func(t *testing.T, h *harness, c counts, dlq []dlqMessage) {
				t.Helper()
				for _, m := range dlq {
					if m.status != "401" || !strings.Contains(strings.ToLower(m.reason), "token") && !strings.Contains(m.reason, "401") {
						t.Errorf("DLQ message status %q reason %q, want 401 with a reason", m.status, m.reason)
					}
				}
				if c.Redelivered != 0 {
					t.Errorf("%d messages left for redelivery: a 401 is permanent and must go straight to the DLQ", c.Redelivered)
				}
			},
		},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			evs, ids := corpus(t, uint64(100+i), scale(1000, 20000), 250)
			sc.opts.ingestEnv = smallMessages
			h := start(t, sc.opts)
			var on atomic.Bool
			on.Store(true)
			if sc.script != nil {
				h.fault.set(sc.script(&on))
			}
			if sc.outage > 0 {
				time.AfterFunc(sc.outage, func() { on.Store(false) })
			}
			h.send(evs)
			h.drain(scale(60*time.Second, 20*time.Minute))

			var dlq []dlqMessage
			if sc.toDLQ {
				dlq = h.dlq()
				inDLQ := 0
				for _, m := range dlq {
					inDLQ += m.records
				}
				c := h.counts()
				if c.NodeRecords != 0 || inDLQ != c.Enqueued {
					t.Errorf("before the replay: node holds %d, DLQ holds %d records, want 0 and all %d", c.NodeRecords, inDLQ, c.Enqueued)
				}
				if sc.check != nil {
					sc.check(t, h, c, dlq)
				}
				on.Store(false)
				if sc.fix != nil {
					sc.fix(h)
				}
				res := h.redrive()
				t.Logf("replay: %+v", res)
				h.drain(scale(60*time.Second, 20*time.Minute))
				if left := h.dlq(); len(left) != 0 {
					t.Errorf("%d messages still in the DLQ after the replay", len(left))
				}
			}
			c := h.account(ids, nil)
			t.Logf("%s: %s", sc.name, c)
			if sc.toDLQ {
				if c.Replayed != c.Enqueued {
					t.Errorf("replayed %d records, want %d", c.Replayed, c.Enqueued)
				}
			} else if sc.check != nil {
				sc.check(t, h, c, h.dlq())
			}
		})
	}
}
