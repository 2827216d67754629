package forward

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/protocol"
)

// failFirst answers the first n requests with reply, then like a good node.
func failFirst(n int32, reply collectortest.Reply) func() collectortest.Script {
	return func() collectortest.Script {
		var count atomic.Int32
		return func(*collectortest.Request) collectortest.Reply {
			if count.Add(1) <= n {
				return reply
			}
			return collectortest.Reply{}
		}
	}
}

func always(reply collectortest.Reply) func() collectortest.Script {
	return func() collectortest.Script {
		return func(*collectortest.Request) collectortest.Reply { return reply }
	}
}

// dlqWant describes one message expected in the DLQ.
type dlqWant struct {
	status int
	reason string   // substring of gwtap-failure-reason
	ids    []string // records it carries
	whole  string   // when set, the body must be this message's original body
}

// TestHandle drives the handler against a node that fails in each of the
// ways the protocol names, and checks the three things that matter: how
// many requests the node saw, which records it stored, and what the handler
// answered (BatchItemFailures, DLQ messages with their attributes).
func TestHandle(t *testing.T) {
	tests := []struct {
		name         string
		script       func() collectortest.Script
		adjust       func(*Config)
		msgs         map[string]int // message id → records (ids "<message id>-<i>")
		wantRequests int
		wantStored   []string // message ids whose records must all be stored
		wantFailed   []string
		wantDLQ      []dlqWant
		wantMetrics  map[string]float64
	}{
		{
			name: "accepted", msgs: map[string]int{"m1": 50, "m2": 7},
			wantRequests: 2, wantStored: []string{"m1", "m2"},
			wantMetrics: map[string]float64{"RecordsDelivered": 57, "Duplicates": 0, "Retries": 0, "MessagesFailed": 0, "MessagesDeadLettered": 0},
		},
		{
			name: "503 twice then 200", script: failFirst(2, collectortest.Reply{Status: 503}), msgs: map[string]int{"m1": 10},
			wantRequests: 3, wantStored: []string{"m1"},
			wantMetrics: map[string]float64{"RecordsDelivered": 10, "Retries": 2},
		},
		{
			name: "429 with Retry-After", script: failFirst(1, collectortest.Reply{Status: 429, RetryAfter: "1"}), msgs: map[string]int{"m1": 3},
			wantRequests: 2, wantStored: []string{"m1"},
			wantMetrics: map[string]float64{"Retries": 1},
		},
		{
			name: "slow answer past the timeout", script: failFirst(1, collectortest.Reply{Delay: 3 * time.Second}), msgs: map[string]int{"m1": 3},
			adjust:       func(c *Config) { c.Node.Timeout = 150 * time.Millisecond },
			wantRequests: 2, wantStored: []string{"m1"},
		},
		{
			name: "connection reset", script: failFirst(1, collectortest.Reply{Hangup: true}), msgs: map[string]int{"m1": 3},
			wantRequests: 2, wantStored: []string{"m1"},
		},
		{
			name: "unavailable throughout", script: always(collectortest.Reply{Status: 503}), msgs: map[string]int{"m1": 3},
			adjust:       func(c *Config) { c.Node.Attempts = 3 },
			wantRequests: 3, wantFailed: []string{"m1"},
			wantMetrics: map[string]float64{"RecordsDelivered": 0, "Retries": 2, "MessagesFailed": 1, "MessagesDeadLettered": 0},
		},
		{
			name: "413 over 4 records", msgs: map[string]int{"m1": 16},
			script: func() collectortest.Script {
				return func(r *collectortest.Request) collectortest.Reply {
					if len(r.Lines) > 4 {
						return collectortest.Reply{Status: 413}
					}
					return collectortest.Reply{}
				}
			},
			// 16 → 8+8 → 4+4+4+4: one whole, two halves, four quarters.
			wantRequests: 7, wantStored: []string{"m1"},
			wantMetrics: map[string]float64{"RecordsDelivered": 16, "BatchesSplit": 3},
		},
		{
			name: "400", script: always(collectortest.Reply{Status: 400, Reason: "body is not NDJSON"}), msgs: map[string]int{"m1": 5},
			wantRequests: 1,
			wantDLQ:      []dlqWant{{status: 400, reason: "body is not NDJSON", whole: "m1"}},
			wantMetrics:  map[string]float64{"RecordsRejected": 5, "MessagesDeadLettered": 1, "MessagesFailed": 0},
		},
		{
			name: "401", script: always(collectortest.Reply{Status: 401, Reason: "invalid token"}), msgs: map[string]int{"m1": 5, "m2": 2},
			wantRequests: 2,
			wantDLQ:      []dlqWant{{status: 401, reason: "invalid token", whole: "m1"}, {status: 401, reason: "invalid token", whole: "m2"}},
		},
		{
			name: "404", script: always(collectortest.Reply{Status: 404}), msgs: map[string]int{"m1": 1},
			wantRequests: 1,
			wantDLQ:      []dlqWant{{status: 404, reason: "", whole: "m1"}},
		},
		{
			name: "per-record rejections", msgs: map[string]int{"m1": 6},
			script: always(collectortest.Reply{Reject: func(i int, _ string) string {
				switch i {
				case 1, 4:
					return protocol.ReasonInvalidField
				case 2:
					return protocol.ReasonRecordTooLarge
				}
				return ""
			}}),
			wantRequests: 1,
			wantDLQ: []dlqWant{
				{status: 200, reason: protocol.ReasonInvalidField, ids: []string{"m1-1", "m1-4"}},
				{status: 200, reason: protocol.ReasonRecordTooLarge, ids: []string{"m1-2"}},
			},
			wantMetrics: map[string]float64{"RecordsDelivered": 3, "RecordsRejected": 3, "MessagesDeadLettered": 2},
		},
		{
			name: "success with duplicates", msgs: map[string]int{"m1": 4, "m1-again": 4},
			script: func() collectortest.Script {
				// The node stores by record id, so the second message's
				// records (same ids) are duplicates.
				return func(r *collectortest.Request) collectortest.Reply {
					for i := range r.IDs {
						r.IDs[i] = strings.Replace(r.IDs[i], "m1-again", "m1", 1)
					}
					return collectortest.Reply{}
				}
			},
			adjust:       func(c *Config) { c.Concurrency = 1 },
			wantRequests: 2, wantStored: []string{"m1"},
			wantMetrics: map[string]float64{"RecordsDelivered": 8, "Duplicates": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var script collectortest.Script
			if tt.script != nil {
				script = tt.script()
			}
			f := newFixture(t, script, tt.adjust)
			var ev events.SQSEvent
			byID := map[string]events.SQSMessage{}
			for _, id := range slices.Sorted(mapKeys(tt.msgs)) {
				m := message(t, id, ids(id, tt.msgs[id]))
				ev.Records = append(ev.Records, m)
				byID[id] = m
			}
			resp, err := f.h.Handle(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}

			if got := len(f.node.Requests()); got != tt.wantRequests {
				t.Errorf("node saw %d requests, want %d", got, tt.wantRequests)
			}
			for _, id := range tt.wantStored {
				for _, rid := range ids(id, tt.msgs[id]) {
					if !f.node.Has(rid) {
						t.Errorf("record %s never reached the node", rid)
					}
				}
			}
			if got := failedIDs(resp); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("BatchItemFailures %v, want %v", got, tt.wantFailed)
			}

			sent := f.dlq.messages()
			// Messages are forwarded concurrently: order by message.
			slices.SortStableFunc(sent, func(a, b *sqs.SendMessageInput) int {
				return strings.Compare(attrs(a)[AttrOriginalMessageID], attrs(b)[AttrOriginalMessageID])
			})
			if len(sent) != len(tt.wantDLQ) {
				t.Fatalf("%d DLQ messages, want %d", len(sent), len(tt.wantDLQ))
			}
			for i, w := range tt.wantDLQ {
				in := sent[i]
				a := attrs(in)
				if aws.ToString(in.QueueUrl) != testDLQURL {
					t.Errorf("DLQ message %d sent to %s", i, aws.ToString(in.QueueUrl))
				}
				if a[AttrFailureStatus] != fmt.Sprint(w.status) || !strings.Contains(a[AttrFailureReason], w.reason) || a[AttrFailureReason] == "" {
					t.Errorf("DLQ message %d: status %q reason %q, want %d %q", i, a[AttrFailureStatus], a[AttrFailureReason], w.status, w.reason)
				}
				orig := w.whole
				if orig == "" {
					orig = tt.wantDLQ[i].ids[0][:strings.LastIndex(tt.wantDLQ[i].ids[0], "-")]
				}
				wantAttrs := map[string]string{
					AttrAttempts: "1", AttrOriginalMessageID: orig, AttrReplayCount: "0",
					AttrFirstFailure: "2026-12-01T12:00:00.000Z", envelope.AttrVersion: envelope.Version, envelope.AttrEncoding: envelope.EncodingZstd,
				}
				for k, v := range wantAttrs {
					if a[k] != v {
						t.Errorf("DLQ message %d: %s = %q, want %q", i, k, a[k], v)
					}
				}
				if len(in.MessageAttributes) > 10 {
					t.Errorf("DLQ message %d has %d attributes; SQS allows 10", i, len(in.MessageAttributes))
				}
				if w.whole != "" {
					if aws.ToString(in.MessageBody) != byID[w.whole].Body || a[envelope.AttrRecords] != fmt.Sprint(tt.msgs[w.whole]) {
						t.Errorf("DLQ message %d is not the original %s", i, w.whole)
					}
					continue
				}
				got := recordIDs(t, aws.ToString(in.MessageBody))
				if !slices.Equal(got, w.ids) || a[envelope.AttrRecords] != fmt.Sprint(len(w.ids)) {
					t.Errorf("DLQ message %d carries %v (attribute %s), want %v", i, got, a[envelope.AttrRecords], w.ids)
				}
				for _, id := range got {
					if f.node.Has(id) {
						t.Errorf("record %s both stored and dead-lettered", id)
					}
				}
			}

			m := emf(t, f.metrics)
			for k, v := range tt.wantMetrics {
				if m[k] != v {
					t.Errorf("metric %s = %v, want %v", k, m[k], v)
				}
			}
			if m["MessagesReceived"] != float64(len(tt.msgs)) {
				t.Errorf("MessagesReceived = %v", m["MessagesReceived"])
			}
		})
	}
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestHandlePostsThePayloadAsIs: on the happy path the node receives the
// envelope's compressed payload byte for byte, keyed by the message id.
func TestHandlePostsThePayloadAsIs(t *testing.T) {
	f := newFixture(t, nil, nil)
	m := message(t, "m1", ids("m1", 100))
	if _, err := f.h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{m}}); err != nil {
		t.Fatal(err)
	}
	r := f.node.Requests()[0]
	payload, _ := base64.StdEncoding.DecodeString(m.Body)
	if string(r.Body) != string(payload) {
		t.Error("payload re-encoded on the happy path")
	}
	if r.Header.Get(protocol.HeaderIdempotencyKey) != "m1" || r.Header.Get(protocol.HeaderRecordCount) != "100" ||
		r.Header.Get(protocol.HeaderContentEncoding) != protocol.EncodingZstd || r.Header.Get(protocol.HeaderAuthorization) != "Bearer tok" {
		t.Errorf("headers %v", r.Header)
	}
}

// TestHandleMalformedEnvelopes: a message that is no envelope goes to the
// DLQ as it came, without a request to the node, and does not hold back
// the good message beside it.
func TestHandleMalformedEnvelopes(t *testing.T) {
	good := func() events.SQSMessage { return message(t, "good", ids("good", 3)) }
	setAttr := func(m events.SQSMessage, name, v string) events.SQSMessage {
		attrs := map[string]events.SQSMessageAttribute{}
		for k, a := range m.MessageAttributes {
			attrs[k] = a
		}
		if v == "" {
			delete(attrs, name)
		} else {
			attrs[name] = events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
		}
		m.MessageAttributes = attrs
		return m
	}
	tests := []struct {
		name   string
		mutate func(events.SQSMessage) events.SQSMessage
		reason string
	}{
		{"unknown version", func(m events.SQSMessage) events.SQSMessage { return setAttr(m, envelope.AttrVersion, "2") }, "version"},
		{"unknown encoding", func(m events.SQSMessage) events.SQSMessage { return setAttr(m, envelope.AttrEncoding, "gzip") }, "encoding"},
		{"no encoding", func(m events.SQSMessage) events.SQSMessage { return setAttr(m, envelope.AttrEncoding, "") }, "encoding"},
		{"record count not a number", func(m events.SQSMessage) events.SQSMessage { return setAttr(m, envelope.AttrRecords, "many") }, envelope.AttrRecords},
		{"record count zero", func(m events.SQSMessage) events.SQSMessage { return setAttr(m, envelope.AttrRecords, "0") }, envelope.AttrRecords},
		{"body not base64", func(m events.SQSMessage) events.SQSMessage { m.Body = "{not base64}"; return m }, "base64"},
		{"body not zstd", func(m events.SQSMessage) events.SQSMessage {
			m.Body = base64.StdEncoding.EncodeToString([]byte(`{"id":"plain"}`))
			return m
		}, "zstd"},
		{"empty body", func(m events.SQSMessage) events.SQSMessage { m.Body = ""; return m }, "zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, nil)
			bad := tt.mutate(message(t, "bad", ids("bad", 2)))
			resp, err := f.h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{bad, good()}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("%v %v", resp, err)
			}
			reqs := f.node.Requests()
			if len(reqs) != 1 || reqs[0].Header.Get(protocol.HeaderIdempotencyKey) != "good" {
				t.Errorf("node requests %d", len(reqs))
			}
			sent := f.dlq.messages()
			if len(sent) != 1 {
				t.Fatalf("%d DLQ messages", len(sent))
			}
			a := attrs(sent[0])
			if aws.ToString(sent[0].MessageBody) != bad.Body || a[AttrFailureStatus] != "0" ||
				!strings.Contains(a[AttrFailureReason], tt.reason) || a[AttrOriginalMessageID] != "bad" {
				t.Errorf("DLQ message %q %v", aws.ToString(sent[0].MessageBody), a)
			}
			if m := emf(t, f.metrics); m["EnvelopesMalformed"] != 1 || m["MessagesDeadLettered"] != 1 {
				t.Errorf("metrics %v", m)
			}
		})
	}
}

// TestHandleDLQSendFails: when the DLQ refuses, the original is redelivered
// rather than lost, for whole and for per-record failures.
func TestHandleDLQSendFails(t *testing.T) {
	script := func(r *collectortest.Request) collectortest.Reply {
		if strings.HasPrefix(r.IDs[0], "perm") {
			return collectortest.Reply{Status: 403}
		}
		return collectortest.Reply{Reject: func(_ int, id string) string {
			if id == "rej-0" {
				return "poison"
			}
			return ""
		}}
	}
	f := newFixture(t, script, nil)
	f.dlq.fail = func(int) error { return errors.New("AWS.SimpleQueueService.NonExistentQueue") }
	ev := events.SQSEvent{Records: []events.SQSMessage{
		message(t, "perm", ids("perm", 2)), message(t, "rej", ids("rej", 3)), message(t, "fine", ids("fine", 2)),
	}}
	resp, err := f.h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"perm", "rej"}) {
		t.Errorf("BatchItemFailures %v", got)
	}
	if m := emf(t, f.metrics); m["MessagesDeadLettered"] != 0 || m["MessagesFailed"] != 2 {
		t.Errorf("metrics %v", m)
	}
}

// TestHandleBreakerFailsFast: once the node has failed BreakerThreshold
// times in a row, the rest of the batch is not posted at all, but a
// malformed message still reaches the DLQ.
func TestHandleBreakerFailsFast(t *testing.T) {
	f := newFixture(t, always(collectortest.Reply{Status: 502})(), func(c *Config) {
		c.Concurrency, c.Node.Attempts, c.Node.BreakerThreshold = 1, 2, 3
	})
	var ev events.SQSEvent
	for i := range 5 {
		id := fmt.Sprintf("m%d", i)
		ev.Records = append(ev.Records, message(t, id, ids(id, 2)))
	}
	bad := message(t, "bad", ids("bad", 1))
	bad.Body = "!"
	ev.Records = append(ev.Records, bad)
	resp, err := f.h.Handle(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"m0", "m1", "m2", "m3", "m4"}) {
		t.Errorf("BatchItemFailures %v", got)
	}
	// m0: two attempts; m1: one, which opens the breaker; the rest: none.
	if n := len(f.node.Requests()); n != 3 {
		t.Errorf("node saw %d requests, want 3", n)
	}
	if len(f.dlq.messages()) != 1 {
		t.Errorf("the malformed message was not dead-lettered")
	}
}

// TestHandleNearTheDeadline: with no time left, messages are handed back
// to SQS at once instead of running into the function timeout.
func TestHandleNearTheDeadline(t *testing.T) {
	f := newFixture(t, always(collectortest.Reply{Status: 503, RetryAfter: "10"})(), func(c *Config) {
		c.Node.Retry.Max, c.Node.Retry.Margin = 30*time.Second, 100*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp, err := f.h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{message(t, "m1", ids("m1", 2)), message(t, "m2", ids("m2", 2))}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("took %v; the deadline is 400ms with a 100ms margin", took)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("BatchItemFailures %v", got)
	}
}

// TestHandleManyReasons: per-record rejections with more distinct reasons
// than maxReasonGroups still dead-letter every rejected record, in a
// bounded number of messages.
func TestHandleManyReasons(t *testing.T) {
	f := newFixture(t, always(collectortest.Reply{Reject: func(i int, _ string) string {
		return fmt.Sprintf("reason %d", i)
	}})(), nil)
	resp, err := f.h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{message(t, "m", ids("m", 20))}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatal(resp, err)
	}
	sent := f.dlq.messages()
	if len(sent) != maxReasonGroups {
		t.Errorf("%d DLQ messages, want %d", len(sent), maxReasonGroups)
	}
	var all []string
	for _, in := range sent {
		all = append(all, recordIDs(t, aws.ToString(in.MessageBody))...)
	}
	slices.Sort(all)
	want := ids("m", 20)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("dead-lettered %v", all)
	}
	if last := attrs(sent[len(sent)-1])[AttrFailureReason]; !strings.HasPrefix(last, "several reasons") {
		t.Errorf("last group's reason %q", last)
	}
}
