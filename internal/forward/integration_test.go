package forward

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/protocol"
)

// TestForwardAgainstSQS runs the real handler under Poller (the event
// source mapping's semantics) against a real SQS API with a redrive policy,
// and a node that fails in each way the protocol names. Records are grouped
// by behaviour; the prefix of a record id says how the node treats it.
func TestForwardAgainstSQS(t *testing.T) {
	srv := localsqstest.Start(t)
	ctx := t.Context()
	qs, err := srv.CreateQueues(ctx, localsqs.QueueSpec{Name: "traffic", MaxReceiveCount: 2, VisibilityTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	client, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		requests = map[string]int{} // by group
	)
	script := func(r *collectortest.Request) collectortest.Reply {
		group := r.IDs[0][:strings.Index(r.IDs[0], "-")]
		mu.Lock()
		requests[group]++
		n := requests[group]
		mu.Unlock()
		switch group {
		case "flaky": // overcome by retries within the invocation
			if n <= 2 {
				return collectortest.Reply{Status: 503, RetryAfter: "0"}
			}
		case "recover": // fails a whole invocation (3 attempts), then works
			if n <= 3 {
				return collectortest.Reply{Status: 502}
			}
		case "reset":
			if n == 1 {
				return collectortest.Reply{Hangup: true}
			}
		case "down":
			return collectortest.Reply{Status: 503}
		case "bad":
			return collectortest.Reply{Status: 400, Reason: "batch is not NDJSON"}
		case "poison":
			return collectortest.Reply{Reject: func(i int, _ string) string {
				if i == 1 {
					return protocol.ReasonInvalidField
				}
				return ""
			}}
		case "big":
			if len(r.Lines) > 5 {
				return collectortest.Reply{Status: 413}
			}
		}
		return collectortest.Reply{}
	}
	node := collectortest.Start(t, script)

	cfg := testConfig(t, node.Listener.Addr().String())
	cfg.DLQURL = qs.DLQ.URL
	cfg.Node.Attempts = 3
	cfg.Node.BreakerThreshold = 1000
	cfg.Node.Retry = backoff.Policy{Base: time.Millisecond, Max: 10 * time.Millisecond, Margin: 100 * time.Millisecond}
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	nc, err := collector.New(cfg.Node, "tok", hc, discard())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(cfg, nc, client, discard(), discardWriter{})
	if err != nil {
		t.Fatal(err)
	}

	// Send one envelope per group, packed as ingest packs them, and one
	// message that is no envelope at all.
	groups := map[string]int{"ok": 40, "flaky": 5, "recover": 5, "reset": 5, "down": 3, "bad": 4, "poison": 6, "big": 12}
	packer, err := envelope.NewPacker(envelope.DefaultMaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(qs.Traffic.URL)}
	for _, g := range slices.Sorted(mapKeys(groups)) {
		msgs, tooLarge := packer.Pack(recordLines(ids(g, groups[g])))
		if len(msgs) != 1 || tooLarge != 0 {
			t.Fatalf("group %s packed into %d messages", g, len(msgs))
		}
		in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(g), MessageBody: aws.String(msgs[0].Body), MessageAttributes: sqsAttrs(msgs[0])})
	}
	in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String("malformed"), MessageBody: aws.String("%%% not base64"),
		MessageAttributes: map[string]types.MessageAttributeValue{envelope.AttrEncoding: {DataType: aws.String("String"), StringValue: aws.String(envelope.EncodingZstd)}}})
	if len(in.Entries) > 10 {
		t.Fatalf("%d entries; SendMessageBatch takes 10", len(in.Entries))
	}
	sent, err := client.SendMessageBatch(ctx, in)
	if err != nil || len(sent.Failed) != 0 {
		t.Fatalf("sending: %v %v", err, sent)
	}
	group := map[string]string{} // SQS message id → group
	for _, s := range sent.Successful {
		group[aws.ToString(s.MessageId)] = aws.ToString(s.Id)
	}

	// Run the mapping until the traffic queue is empty.
	p := &Poller{SQS: client, QueueURL: qs.Traffic.URL, QueueARN: qs.Traffic.ARN, Region: localsqs.Region, BatchSize: 10, Timeout: 10 * time.Second, Handler: h.Handle}
	deleted := map[string]int{}
	failed := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for queueDepth(t, client, qs.Traffic.URL) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("traffic queue not drained; deleted %v failed %v", deleted, failed)
		}
		res, err := p.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.HandlerErr != nil {
			t.Fatalf("handler error %v", res.HandlerErr)
		}
		for _, id := range res.Deleted {
			deleted[group[id]]++
		}
		for _, id := range res.Failed {
			failed[group[id]]++
		}
		if len(res.Received) == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Deleted after delivery or after a direct DLQ send; "recover" only on
	// its second delivery; "down" never, and twice redelivered.
	for g, want := range map[string]int{"ok": 1, "flaky": 1, "recover": 1, "reset": 1, "bad": 1, "poison": 1, "big": 1, "malformed": 1, "down": 0} {
		if deleted[g] != want {
			t.Errorf("%s deleted %d times, want %d", g, deleted[g], want)
		}
	}
	if failed["recover"] != 1 || failed["down"] != 2 || len(failed) != 2 {
		t.Errorf("redelivered: %v, want recover once and down twice", failed)
	}

	// Every record that should reach the node did, and no rejected one.
	for _, g := range []string{"ok", "flaky", "recover", "reset", "poison", "big"} {
		for _, id := range ids(g, groups[g]) {
			if want := id != "poison-1"; node.Has(id) != want {
				t.Errorf("node has %s: %v, want %v", id, node.Has(id), want)
			}
		}
	}
	for _, id := range append(ids("down", 3), ids("bad", 4)...) {
		if node.Has(id) {
			t.Errorf("node stored %s", id)
		}
	}

	// The DLQ: bad, poison's rejected record and the malformed message were
	// sent by forward with their reasons; down was moved by the redrive
	// policy, as it came.
	dlq := map[string]types.Message{}
	for _, m := range drainQueue(t, client, qs.DLQ.URL) {
		key := "down (redriven)"
		if a, ok := m.MessageAttributes[AttrOriginalMessageID]; ok {
			key = group[aws.ToString(a.StringValue)]
		}
		if _, dup := dlq[key]; dup {
			t.Errorf("two DLQ messages for %s", key)
		}
		dlq[key] = m
	}
	if len(dlq) != 4 {
		t.Fatalf("DLQ holds %v", slices.Sorted(func(yield func(string) bool) {
			for k := range dlq {
				if !yield(k) {
					return
				}
			}
		}))
	}
	check := func(g, status, reason string, wantIDs []string) {
		t.Helper()
		m, ok := dlq[g]
		if !ok {
			t.Errorf("%s not in the DLQ", g)
			return
		}
		a := map[string]string{}
		for k, v := range m.MessageAttributes {
			a[k] = aws.ToString(v.StringValue)
		}
		if a[AttrFailureStatus] != status || !strings.Contains(a[AttrFailureReason], reason) || a[AttrAttempts] != "1" || a[AttrReplayCount] != "0" {
			t.Errorf("%s attributes %v", g, a)
		}
		if ts, err := time.Parse(timeLayout, a[AttrFirstFailure]); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("%s first failure %q", g, a[AttrFirstFailure])
		}
		if wantIDs != nil && !slices.Equal(recordIDs(t, aws.ToString(m.Body)), wantIDs) {
			t.Errorf("%s DLQ records %v, want %v", g, recordIDs(t, aws.ToString(m.Body)), wantIDs)
		}
	}
	check("bad", "400", "batch is not NDJSON", ids("bad", 4))
	check("poison", "200", protocol.ReasonInvalidField, []string{"poison-1"})
	check("malformed", "0", "base64", nil)
	if m := dlq["malformed"]; aws.ToString(m.Body) != "%%% not base64" {
		t.Errorf("malformed body changed to %q", aws.ToString(m.Body))
	}
	down := dlq["down (redriven)"]
	if _, ok := down.MessageAttributes[AttrFailureReason]; ok || !slices.Equal(recordIDs(t, aws.ToString(down.Body)), ids("down", 3)) {
		t.Errorf("redriven message %v", down.MessageAttributes)
	}
	mu.Lock()
	defer mu.Unlock()
	// recover: 3 failed attempts, then one; flaky: 2 + 1; big: 12, then
	// 6 and 6, then four times 3; down: 3 attempts in each of 2 deliveries.
	for g, want := range map[string]int{"recover": 4, "flaky": 3, "reset": 2, "big": 7, "bad": 1, "down": 6} {
		if requests[g] != want {
			t.Errorf("%s: node saw %d requests, want %d", g, requests[g], want)
		}
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func sqsAttrs(m envelope.Message) map[string]types.MessageAttributeValue {
	out := map[string]types.MessageAttributeValue{}
	for name, a := range m.Attributes() {
		out[name] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
	}
	return out
}

// queueDepth counts the messages in a queue, visible or in flight.
func queueDepth(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, v := range out.Attributes {
		c, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s = %q", name, v)
		}
		n += c
	}
	return n
}

// drainQueue receives and deletes everything in a queue.
func drainQueue(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out []types.Message
	for empty := 0; empty < 2; {
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range got.Messages {
			out = append(out, m)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}
