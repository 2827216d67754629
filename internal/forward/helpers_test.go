package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/record"
)

const testDLQURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-dlq"

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testConfig is a valid configuration for a plain-HTTP node at host, with
// retries shrunk to milliseconds.
func testConfig(t testing.TB, host string) Config {
	t.Helper()
	c, err := LoadConfig(env(map[string]string{
		"X_NODE_URL": host, "X_NODE_SCHEME": "http", "X_WALLARM_APPLICATION_ID": "7",
		"GWTAP_NODE_TOKEN": "tok", EnvDLQURL: testDLQURL, EnvFunctionName: "gwtap-forward",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c.Node.Retry = backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond, Margin: 10 * time.Millisecond}
	c.Node.Timeout = 2 * time.Second
	return c
}

// fakeDLQ records SendMessage calls; fail, when set, decides per call
// whether it fails.
type fakeDLQ struct {
	SQSAPI
	mu   sync.Mutex
	sent []*sqs.SendMessageInput
	fail func(n int) error
	n    int
}

func (f *fakeDLQ) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.fail != nil {
		if err := f.fail(f.n); err != nil {
			return nil, err
		}
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{MessageId: aws.String(fmt.Sprintf("dlq-%d", f.n))}, nil
}

func (f *fakeDLQ) messages() []*sqs.SendMessageInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sqs.SendMessageInput(nil), f.sent...)
}

// fixture is a handler wired to a scripted node and a fake DLQ.
type fixture struct {
	h       *Handler
	node    *collectortest.Node
	dlq     *fakeDLQ
	metrics *bytes.Buffer
}

func newFixture(t testing.TB, script collectortest.Script, adjust func(*Config)) *fixture {
	t.Helper()
	node := collectortest.Start(t, script)
	cfg := testConfig(t, node.Listener.Addr().String())
	if adjust != nil {
		adjust(&cfg)
	}
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	client, err := collector.New(cfg.Node, "tok", hc, discard())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{node: node, dlq: &fakeDLQ{}, metrics: &bytes.Buffer{}}
	f.h, err = NewHandler(cfg, client, f.dlq, discard(), f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	f.h.now = func() time.Time { return fixedNow }
	return f
}

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// recordLines returns NDJSON records, one per id, and their ends.
func recordLines(ids []string) ([]byte, []int) {
	var buf []byte
	var ends []int
	for i, id := range ids {
		r := record.Record{ID: id, AppID: "7", Method: "GET", Host: "api.example.com", Path: "/users/" + strconv.Itoa(i), Status: 200, LatencyMs: int64(i % 90)}
		buf = append(r.AppendJSON(buf), '\n')
		ends = append(ends, len(buf))
	}
	return buf, ends
}

// message packs one record per id into a single envelope message.
func message(t testing.TB, msgID string, ids []string) events.SQSMessage {
	t.Helper()
	p, err := envelope.NewPacker(envelope.MaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	buf, ends := recordLines(ids)
	msgs, tooLarge := p.Pack(buf, ends)
	if len(msgs) != 1 || tooLarge != 0 {
		t.Fatalf("packed %d ids into %d messages", len(ids), len(msgs))
	}
	return sqsMessage(msgID, msgs[0])
}

// sqsMessage is m as the event source mapping delivers it, first receive.
func sqsMessage(msgID string, m envelope.Message) events.SQSMessage {
	attrs := map[string]events.SQSMessageAttribute{}
	for name, a := range m.Attributes() {
		attrs[name] = events.SQSMessageAttribute{DataType: a[0], StringValue: aws.String(a[1])}
	}
	return events.SQSMessage{
		MessageId: msgID, ReceiptHandle: "rh-" + msgID, Body: m.Body, MessageAttributes: attrs,
		Attributes: map[string]string{
			sysReceiveCount: "1", sysFirstReceive: strconv.FormatInt(fixedNow.Add(-time.Minute).UnixMilli(), 10),
			"SentTimestamp": strconv.FormatInt(fixedNow.Add(-2*time.Minute).UnixMilli(), 10),
		},
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:gwtap-traffic", AWSRegion: "eu-west-1",
	}
}

// ids returns prefix-0 … prefix-(n-1).
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// failedIDs lists the message ids a response asks SQS to redeliver.
func failedIDs(r events.SQSEventResponse) []string {
	var out []string
	for _, f := range r.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

// attrs flattens SQS message attributes to name → value.
func attrs(in *sqs.SendMessageInput) map[string]string {
	out := map[string]string{}
	for k, v := range in.MessageAttributes {
		out[k] = aws.ToString(v.StringValue)
	}
	return out
}

// recordIDs decodes an envelope body and returns its record ids.
func recordIDs(t testing.TB, body string) []string {
	t.Helper()
	o, err := envelope.NewOpener(0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := o.Open(body)
	if err != nil {
		t.Fatalf("DLQ body is not an envelope: %v", err)
	}
	var out []string
	for _, l := range envelope.Lines(raw) {
		var r record.Record
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("record is not JSON: %v: %s", err, l)
		}
		out = append(out, r.ID)
	}
	return out
}

// emf returns the metric values of the last EMF line written.
func emf(t testing.TB, buf *bytes.Buffer) map[string]float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var doc map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &doc); err != nil {
		t.Fatalf("metrics line is not JSON: %v", err)
	}
	out := map[string]float64{}
	for k, v := range doc {
		if f, ok := v.(float64); ok {
			out[k] = f
		}
	}
	return out
}
