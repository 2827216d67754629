package faults

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/ingest"
)

// accessLine is one access-log line in the seed's JSON format.
func accessLine(id, method, path, userAgent string, epochMs int64) string {
	b, err := json.Marshal(map[string]string{
		"requestId": id, "httpMethod": method, "path": path, "protocol": "HTTP/1.1", "status": "200",
		"responseLength": "42", "requestTimeEpoch": fmt.Sprint(epochMs), "responseLatency": "3",
		"integrationLatency": "2", "integrationStatus": "200", "stage": "prod",
		"domainName": "api.faults.example.com", "sourceIp": "203.0.113.9", "userAgent": userAgent,
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// goodLines returns n valid lines with ids prefix-0 … prefix-(n-1).
func goodLines(prefix string, n int) []string {
	now := time.Now().UnixMilli()
	out := make([]string, n)
	for i := range out {
		out[i] = accessLine(fmt.Sprintf("%s-%d", prefix, i), "GET", fmt.Sprintf("/v1/items/%d", i), "curl/8", now-int64(i))
	}
	return out
}

// TestPoisonRecord: the node rejects one record of a batch; it lands in the
// DLQ alone with its reason, and the rest of the batch is delivered.
func TestPoisonRecord(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	lines := goodLines("good", 600)
	// Ingest takes a timestamp in 2100; the node refuses it as invalid.
	const poison = "poison-1"
	lines[321] = accessLine(poison, "GET", "/v1/items/poison", "curl/8", 4102444800000)
	evs, ids := eventsOf(t, lines, 300)
	if !ids[poison] {
		t.Fatal("ingest does not parse the poison record: the test needs one the node alone refuses")
	}
	h.send(evs)
	h.drain(time.Minute)
	dlq := h.dlq()
	c := h.account(ids, map[string]bool{poison: true})
	c.DeadLetter = len(dlq)
	t.Logf("poison record: %s", c)
	if len(dlq) != 1 || len(dlq[0].ids) != 1 || dlq[0].ids[0] != poison {
		t.Fatalf("DLQ holds %+v, want the poison record alone", dlq)
	}
	if dlq[0].reason == "" || dlq[0].status != "200" {
		t.Errorf("poison record dead-lettered with status %q reason %q, want 200 and a reason", dlq[0].status, dlq[0].reason)
	}
	t.Logf("poison reason: %s", dlq[0].reason)
	if c.Rejected != 1 || c.Redelivered != 0 {
		t.Errorf("rejected %d, redelivered %d; want 1 and 0 (a poison record never holds its batch back)", c.Rejected, c.Redelivered)
	}
}

// TestMalformedEnvelopes: garbage on the traffic queue goes to the DLQ with
// a reason, once, and the good messages around it flow.
func TestMalformedEnvelopes(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	attrs := func(version, encoding, records string) map[string]types.MessageAttributeValue {
		m := map[string]types.MessageAttributeValue{}
		for k, v := range map[string]string{envelope.AttrVersion: version, envelope.AttrEncoding: encoding, envelope.AttrRecords: records} {
			if v != "" {
				m[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
		return m
	}
	garbage := []struct {
		body  string
		attrs map[string]types.MessageAttributeValue
	}{
		{"not an envelope at all", nil},
		{"!!!not base64!!!", attrs(envelope.Version, envelope.EncodingZstd, "3")},
		{base64.StdEncoding.EncodeToString([]byte("not zstd")), attrs(envelope.Version, envelope.EncodingZstd, "1")},
		{base64.StdEncoding.EncodeToString([]byte("x")), attrs("99", envelope.EncodingZstd, "1")},
		{base64.StdEncoding.EncodeToString([]byte("x")), attrs(envelope.Version, envelope.EncodingZstd, "-4")},
	}
	evs, ids := eventsOf(t, goodLines("flow", 400), 100)
	h.send(evs[:2])
	for _, g := range garbage {
		if _, err := h.client.SendMessage(t.Context(), &sqs.SendMessageInput{
			QueueUrl: aws.String(h.queues.Traffic.URL), MessageBody: aws.String(g.body), MessageAttributes: g.attrs,
		}); err != nil {
			t.Fatal(err)
		}
	}
	h.send(evs[2:])
	h.drain(time.Minute)
	dlq := h.dlq()
	c := h.account(ids, nil)
	c.DeadLetter = len(dlq)
	t.Logf("malformed envelopes: %s", c)
	if len(dlq) != len(garbage) || c.Malformed != len(garbage) {
		t.Errorf("DLQ holds %d messages, %d counted malformed; want %d each", len(dlq), c.Malformed, len(garbage))
	}
	for _, m := range dlq {
		if m.reason == "" || m.status != "0" {
			t.Errorf("malformed message dead-lettered with status %q reason %q, want 0 and a reason", m.status, m.reason)
		}
	}
	if c.Redelivered != 0 {
		t.Errorf("%d redeliveries: a malformed envelope must not loop", c.Redelivered)
	}
}

// dupSQS sends every batch twice: each envelope reaches the queue twice.
type dupSQS struct{ ingest.SQSAPI }

func (d dupSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if _, err := d.SQSAPI.SendMessageBatch(ctx, in, opts...); err != nil {
		return nil, err
	}
	return d.SQSAPI.SendMessageBatch(ctx, in, opts...)
}

// TestDuplicatedDeliveries: the same envelope delivered twice is stored
// once, and the second copy is counted as duplicates.
func TestDuplicatedDeliveries(t *testing.T) {
	t.Parallel()
	h := start(t, options{ingestSQS: func(q ingest.SQSAPI) ingest.SQSAPI { return dupSQS{q} }})
	evs, ids := eventsOf(t, goodLines("dup", 800), 200)
	h.send(evs)
	h.drain(time.Minute)
	c := h.account(ids, nil)
	t.Logf("duplicated deliveries: %s", c)
	if c.Duplicates != len(ids) || c.Delivered != 2*len(ids) {
		t.Errorf("duplicates %d, delivered %d; want %d and %d", c.Duplicates, c.Delivered, len(ids), 2*len(ids))
	}
}

// flakySQS fails SendMessageBatch calls while broken: the first partly,
// the others with an error.
type flakySQS struct {
	ingest.SQSAPI
	broken atomic.Bool
	calls  atomic.Int64
}

func (f *flakySQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	n := f.calls.Add(1)
	if !f.broken.Load() {
		return f.SQSAPI.SendMessageBatch(ctx, in, opts...)
	}
	if n > 1 {
		return nil, errors.New("injected: SQS unavailable")
	}
	// The first call is a partial failure: one entry is sent, SQS fails the
	// others (not the sender's fault).
	first := *in
	first.Entries = in.Entries[:1]
	out, err := f.SQSAPI.SendMessageBatch(ctx, &first, opts...)
	if err != nil {
		return nil, err
	}
	for _, e := range in.Entries[1:] {
		out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("injected"), SenderFault: false})
	}
	return out, nil
}

// TestSQSSendErrors: when SQS fails sends, the ingest invocation fails (so
// Lambda retries it); the retry of the same event succeeds with the same
// record ids, and what the failed try did send is only duplicates.
func TestSQSSendErrors(t *testing.T) {
	t.Parallel()
	flaky := &flakySQS{}
	flaky.broken.Store(true)
	h := start(t, options{
		ingestSQS: func(q ingest.SQSAPI) ingest.SQSAPI { flaky.SQSAPI = q; return flaky },
		ingestEnv: map[string]string{"GWTAP_MAX_MESSAGE_BYTES": "16384", ingest.EnvSendAttempts: "2"},
	})
	evs, ids := corpus(t, 9, 3000, 3000)
	_, err := h.invoke(evs[0])
	if !errors.Is(err, ingest.ErrNotEnqueued) {
		t.Fatalf("ingest with SQS failing returned %v, want ErrNotEnqueued", err)
	}
	flaky.broken.Store(false)
	res, err := h.invoke(evs[0]) // Lambda's retry of the same event
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res.Stats.Enqueued != len(ids) {
		t.Errorf("retry enqueued %d records, want %d", res.Stats.Enqueued, len(ids))
	}
	h.drain(time.Minute)
	c := h.account(ids, nil)
	t.Logf("SQS send errors: %s; failed invocations %d", c, c.IngestFailed)
	if c.IngestFailed != 1 || c.Duplicates == 0 {
		t.Errorf("failed invocations %d, duplicates %d; want 1 and some (the first try's partial sends)", c.IngestFailed, c.Duplicates)
	}
}

// rawEvent gzips and base64-encodes doc as a subscription delivery.
func rawEvent(doc []byte) events.CloudwatchLogsEvent {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(doc)
	_ = zw.Close()
	return events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: base64.StdEncoding.EncodeToString(buf.Bytes())}}
}

// TestBadInput feeds ingest what a broken or hostile sender could: each
// undecodable delivery gets a clear error, each bad line is counted
// unparsed, and the valid lines of the same delivery are delivered.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := start(t, options{ingestEnv: map[string]string{ingest.EnvMaxDecompressed: "4194304"}})
	ctx := t.Context()
	valid, _ := eventsOf(t, goodLines("unused", 5), 5)
	data := valid[0].AWSLogs.Data
	raw, _ := base64.StdEncoding.DecodeString(data)

	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"`))
	zeros := make([]byte, 1<<20)
	for range 64 { // 64 MiB of zeros in ~64 KiB
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()

	deliveries := []struct {
		name string
		data string
		want error
	}{
		{"invalid base64", "!!!%%%", cwlogs.ErrBase64},
		{"truncated base64", data[:len(data)/2-1], nil},
		{"base64 of non-gzip", base64.StdEncoding.EncodeToString([]byte("plain text, not gzip")), cwlogs.ErrGzip},
		{"truncated gzip", base64.StdEncoding.EncodeToString(raw[:len(raw)/2]), cwlogs.ErrGzip},
		{"gzip bomb", base64.StdEncoding.EncodeToString(bomb.Bytes()), cwlogs.ErrTooLarge},
		{"wrong JSON types", rawEvent([]byte(`{"messageType":5,"logGroup":["x"],"logEvents":"none"}`)).AWSLogs.Data, cwlogs.ErrJSON},
		{"empty", "", nil},
	}
	for _, d := range deliveries {
		start := time.Now()
		_, err := h.ingest.Handle(ctx, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: d.data}})
		switch {
		case err == nil:
			t.Errorf("%s: accepted", d.name)
		case d.want != nil && !errors.Is(err, d.want):
			t.Errorf("%s: %v, want %v", d.name, err, d.want)
		default:
			t.Logf("%s: %v (%s)", d.name, err, time.Since(start).Round(time.Millisecond))
		}
	}

	// One delivery mixing bad lines with good ones; raw bytes, so the
	// invalid UTF-8 reaches ingest as it is.
	good := goodLines("mixed", 50)
	bad := []string{
		`{"requestId":"big-1","httpMethod":"GET","path":"/` + strings.Repeat("a", 1<<20) + `"}`,
		"{\"requestId\":\"utf8-1\",\"httpMethod\":\"GET\",\"path\":\"/\xff\xfe\",\"userAgent\":\"\xc3\x28\"}",
		`{"requestId":5,"httpMethod":["GET"],"path":{"x":1},"status":true}`,
		`{"requestId":"trunc-1","httpMethod":"GE`,
		"\xff\xfe\xfd garbage",
		``,
	}
	var doc bytes.Buffer
	doc.WriteString(`{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/apigateway/faults","logStream":"s","subscriptionFilters":["f"],"logEvents":[`)
	all := append(append([]string{}, good[:25]...), bad...)
	all = append(all, good[25:]...)
	for i, l := range all {
		if i > 0 {
			doc.WriteByte(',')
		}
		// Escape as CloudWatch would, but keep invalid UTF-8 bytes raw.
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
		fmt.Fprintf(&doc, `{"id":"%056d","timestamp":%d,"message":"%s"}`, i, time.Now().UnixMilli(), esc)
	}
	doc.WriteString(`]}`)
	res, err := h.invoke(rawEvent(doc.Bytes()))
	if err != nil {
		t.Fatalf("a delivery with bad lines failed as a whole: %v", err)
	}
	t.Logf("mixed delivery stats: lines %d parsed %d unparsed %d oversized %d", res.Stats.Lines, res.Stats.Parsed, res.Stats.Unparsed, res.Stats.Oversized)
	if res.Stats.Lines != len(all) || res.Stats.Parsed+res.Stats.Unparsed != len(all) || res.Stats.Unparsed < 4 {
		t.Errorf("stats %+v: want %d lines, each parsed or counted unparsed, at least 4 unparsed", res.Stats, len(all))
	}
	h.drain(time.Minute)
	ids := map[string]bool{}
	for i := range good {
		ids[fmt.Sprintf("mixed-%d", i)] = true
	}
	stored := h.stored()
	for _, r := range h.records() {
		if !ids[r.ID] {
			// A bad line ingest did parse: the node may keep it, but only
			// as valid UTF-8.
			t.Logf("also stored: %q path %q user agent %q", r.ID, r.Path, r.UserAgent)
			if !utf8.ValidString(r.Path) || !utf8.ValidString(r.UserAgent) {
				t.Errorf("record %q stored with invalid UTF-8", r.ID)
			}
		}
	}
	for id := range ids {
		if stored[id] != 1 {
			t.Errorf("valid line %s stored %d times, want 1", id, stored[id])
		}
	}
	c := h.counts()
	c.Sent, c.DeadLetter = len(ids), len(h.dlq())
	t.Logf("bad input: %s", c)
}
