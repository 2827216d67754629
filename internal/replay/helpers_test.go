package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// node is a test node that can be taken down: while down it answers 503
// to everything, health included, as a node that is shutting down does.
// Otherwise collectortest's node serves it, with a script for /v1/records.
type node struct {
	*collectortest.Node
	srv  *httptest.Server
	down atomic.Bool
}

func startNode(t *testing.T, script collectortest.Script) *node {
	t.Helper()
	n := &node{Node: collectortest.NewUnstarted(t, script)}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.down.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(protocol.Health{Status: "degraded"})
			return
		}
		n.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) host() string { return n.srv.Listener.Addr().String() }

// duplicates is how many records the node answered as duplicates: records
// of answered batches beyond the first copy of each id it stored.
func (n *node) duplicates() int {
	total := 0
	for _, r := range n.Requests() {
		if r.Status == http.StatusOK {
			total += len(r.IDs)
		}
	}
	return total - len(n.Stored())
}

// env is a test's SQS server, queues and client.
type env struct {
	client *sqs.Client
	qs     localsqs.Queues // Traffic, DLQ, Extra (the ingest failure queue)
	srv    *localsqs.Server
}

// newEnv starts local-aws-sqs with a traffic queue that dead-letters after
// two receives, a DLQ and an ingest failure queue, all with a one-second
// visibility timeout.
func newEnv(t *testing.T, name string) *env {
	t.Helper()
	srv := localsqstest.Start(t)
	return newQueues(t, srv, name)
}

func newQueues(t *testing.T, srv *localsqs.Server, name string) *env {
	t.Helper()
	qs, err := srv.CreateQueues(t.Context(), localsqs.QueueSpec{Name: name, ExtraName: name + "-ingest-failures", MaxReceiveCount: 2, VisibilityTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	client, err := srv.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return &env{client: client, qs: qs, srv: srv}
}

// testConfig is a Config for e's queues, a node at host, no rate limit and
// short polls and visibilities.
func (e *env) testConfig(host string) Config {
	return Config{
		Queues:            Queues{DLQ: e.qs.DLQ.URL, Traffic: e.qs.Traffic.URL, IngestFailure: e.qs.Extra.URL},
		Limits:            Limits{MaxReplays: 3},
		Node:              collector.Config{Scheme: "http", Host: host},
		ReceiveVisibility: 2 * time.Second,
		Namespace:         "gwtap",
		FunctionName:      "gwtap-replay",
	}
}

// service builds a Service over e, probing n, with metrics in the returned
// buffer.
func (e *env) service(t *testing.T, n *node, adjust func(*Config, *Deps)) (*Service, *syncBuffer) {
	t.Helper()
	host := "127.0.0.1:9"
	if n != nil {
		host = n.host()
	}
	cfg := e.testConfig(host)
	m := &syncBuffer{}
	deps := Deps{SQS: e.client, Log: discardLog(), Metrics: m}
	if n != nil {
		deps.Node = nodeClient(t, host)
	}
	if adjust != nil {
		adjust(&cfg, &deps)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

// nodeClient is a collector client for a plain-HTTP node at host, with
// retries shrunk to milliseconds.
func nodeClient(t *testing.T, host string) *collector.Client {
	t.Helper()
	cfg := collector.Config{Scheme: "http", Host: host, AppID: "7", ConnectTimeout: time.Second, Timeout: 2 * time.Second,
		Attempts: 2, BreakerThreshold: 1000, Retry: backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Margin: 100 * time.Millisecond}}
	hc, err := collector.NewHTTPClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := collector.New(cfg, "", hc, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forwarder is the real forward handler under the event source mapping's
// emulation, posting to n and dead-lettering to e's DLQ.
func (e *env) forwarder(t *testing.T, n *node) *forward.Poller {
	t.Helper()
	cfg := forward.Config{
		Node: collector.Config{Scheme: "http", Host: n.host(), AppID: "7", ConnectTimeout: time.Second, Timeout: 2 * time.Second,
			Attempts: 2, BreakerThreshold: 1000, Retry: backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Margin: 100 * time.Millisecond}},
		DLQURL: e.qs.DLQ.URL, MaxMessageBytes: envelope.DefaultMaxMessageBytes, Concurrency: 4, Namespace: "gwtap", FunctionName: "gwtap-forward",
	}
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	nc, err := collector.New(cfg.Node, "", hc, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	h, err := forward.NewHandler(cfg, nc, e.client, discardLog(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return &forward.Poller{SQS: e.client, QueueURL: e.qs.Traffic.URL, QueueARN: e.qs.Traffic.ARN, Region: localsqs.Region,
		BatchSize: 10, Timeout: 10 * time.Second, Handler: h.Handle}
}

// drainTraffic runs p until the traffic queue is empty (messages that fail
// are redelivered, and moved to the DLQ by the redrive policy). Empty means
// a receive found nothing and the queue's depth is 0: either alone can
// mislead under load.
func (e *env) drainTraffic(t *testing.T, p *forward.Poller) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("traffic queue not drained in 45s")
		}
		res, err := p.Poll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Received) > 0 {
			continue
		}
		if e.depth(t, e.qs.Traffic.URL) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// depth is a queue's messages, visible, in flight or delayed.
// local-aws-sqs counts in-flight messages in ApproximateNumberOfMessages
// already, and counts a message just sent as delayed (not in
// ApproximateNumberOfMessages) until its zero delay has passed on its event
// loop, which under load takes a moment.
func (e *env) depth(t *testing.T, url string) int {
	t.Helper()
	out, err := e.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	d, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)])
	return n + d
}

// waitVisible waits until url has want visible messages (those set aside
// or in flight come back when their visibility ends).
func (e *env) waitVisible(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := e.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
		})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
		hidden, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
		if all-hidden == want && hidden == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d visible and %d hidden, want %d visible", url, all-hidden, hidden, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// send packs one envelope per group of ids and sends it to url with extra
// message attributes; it returns the SQS message ids.
func (e *env) send(t *testing.T, url string, extra map[string]string, groups ...[]string) []string {
	t.Helper()
	p, err := envelope.NewPacker(envelope.MaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		buf, ends := recordLines(g)
		msgs, tooLarge := p.Pack(buf, ends)
		if len(msgs) != 1 || tooLarge != 0 {
			t.Fatalf("packed %d ids into %d messages", len(g), len(msgs))
		}
		attrs := map[string]types.MessageAttributeValue{}
		for name, a := range msgs[0].Attributes() {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
		}
		for name, v := range extra {
			dt := "String"
			if _, err := strconv.Atoi(v); err == nil && (name == forward.AttrReplayCount || name == forward.AttrFailureStatus) {
				dt = "Number"
			}
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(dt), StringValue: aws.String(v)}
		}
		res, err := e.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(msgs[0].Body), MessageAttributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, aws.ToString(res.MessageId))
	}
	return out
}

// recordLines returns NDJSON records, one per id, and their ends.
func recordLines(ids []string) ([]byte, []int) {
	var buf []byte
	var ends []int
	for i, id := range ids {
		r := record.Record{ID: id, AppID: "7", Method: "GET", Host: "api.example.com", Path: "/users/" + strconv.Itoa(i), Status: 200}
		buf = append(r.AppendJSON(buf), '\n')
		ends = append(ends, len(buf))
	}
	return buf, ends
}

// ids returns prefix-0 … prefix-(n-1).
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// missing returns the ids the node did not store.
func missing(n *node, want ...[]string) []string {
	var out []string
	for _, g := range want {
		for _, id := range g {
			if !n.Has(id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// messages receives every visible message of url (hiding them for a
// while) and returns them by SQS message id.
func (e *env) messages(t *testing.T, url string) map[string]types.Message {
	t.Helper()
	out := map[string]types.Message{}
	for {
		res, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			out[aws.ToString(m.MessageId)] = m
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// metric sums a metric over every EMF line written.
func (b *syncBuffer) metric(t *testing.T, name string) float64 {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	sum := 0.0
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("metrics line is not JSON: %v: %s", err, line)
		}
		if v, ok := doc[name].(float64); ok {
			sum += v
		}
	}
	return sum
}

// failingDeletes wraps an SQS client so deletes from one queue fail, as
// if the process died between sending the copies and deleting the
// originals.
type failingDeletes struct {
	SQSAPI
	queue string
	calls atomic.Int32
}

func (f *failingDeletes) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	if aws.ToString(in.QueueUrl) == f.queue {
		f.calls.Add(1)
		return nil, fmt.Errorf("injected: connection reset while deleting from %s", f.queue)
	}
	return f.SQSAPI.DeleteMessageBatch(ctx, in, opts...)
}
