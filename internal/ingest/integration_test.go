package ingest

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/record"
)

// TestIngestAgainstSQS runs the handler against a real SQS API and reads
// every record back from the queue, field for field.
func TestIngestAgainstSQS(t *testing.T) {
	srv := localsqstest.Start(t)
	ctx := t.Context()
	qs, err := srv.CreateQueues(ctx, localsqs.QueueSpec{Name: "traffic", MaximumMessageSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	client, err := srv.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.QueueURL = qs.Traffic.URL
	cfg.MaxMessageBytes = 16 << 10 // many messages, so batching and grouping are exercised
	h, err := NewHandler(cfg, client, discardLogger(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	lines := synthLines(3000, 11)
	lines = append(lines, "garbage line")
	res, err := h.Handle(ctx, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: payload(t, lines...)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Parsed != 3000 || res.Stats.Unparsed != 1 || res.Stats.Messages < 10 {
		t.Fatalf("stats %+v", res.Stats)
	}

	want := map[string]record.Record{}
	for _, l := range lines[:3000] {
		var r record.Record
		if _, err := accesslog.Parse(l, &r); err != nil {
			t.Fatal(err)
		}
		want[r.ID] = r
	}
	var bodiesRead []string
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(qs.Traffic.URL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range out.Messages {
			a := m.MessageAttributes
			if aws.ToString(a[envelope.AttrVersion].StringValue) != envelope.Version ||
				aws.ToString(a[envelope.AttrEncoding].StringValue) != envelope.EncodingZstd {
				t.Fatalf("attributes %v", a)
			}
			n, _ := strconv.Atoi(aws.ToString(a[envelope.AttrRecords].StringValue))
			if got := len(openAll(t, []string{aws.ToString(m.Body)})); got != n {
				t.Fatalf("message carries %d records, attribute says %d", got, n)
			}
			bodiesRead = append(bodiesRead, aws.ToString(m.Body))
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qs.Traffic.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := openAll(t, bodiesRead)
	if len(got) != len(want) {
		t.Fatalf("read %d records back, want %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("unexpected record %s", r.ID)
		}
		w.AppID, w.LogGroup, w.LogStream, w.Account, w.EventTime = "7", "/aws/apigateway/shop", "stream-1", "123456789012", r.EventTime
		if r != w {
			t.Fatalf("record %s:\n got %+v\nwant %+v", r.ID, r, w)
		}
		delete(want, r.ID)
	}
}
