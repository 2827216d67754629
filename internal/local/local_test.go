package local

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/synth"
)

// corpus returns n synthetic lines as subscription events of at most 500
// lines each, and the distinct record ids they carry.
func corpus(t *testing.T, n int) ([]events.CloudwatchLogsEvent, map[string]bool) {
	t.Helper()
	g := synth.New(5, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	ids := map[string]bool{}
	var evs []events.CloudwatchLogsEvent
	var cur *cwlogs.Payload
	flush := func() {
		data, err := cwlogs.Encode(cur)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
		cur = nil
	}
	for i := range n {
		if cur == nil {
			cur = &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: "/aws/apigateway/shop", LogStream: "s"}
		}
		line := synth.SeedJSON(g.Next())
		var r record.Record
		if _, err := accesslog.Parse(line, &r); err != nil {
			t.Fatal(err)
		}
		ids[r.ID] = true
		cur.LogEvents = append(cur.LogEvents, cwlogs.LogEvent{ID: strings.Repeat("0", 10) + string(rune('a'+i%26)), Timestamp: 1796083200000 + int64(i), Message: line})
		if len(cur.LogEvents) == 500 {
			flush()
		}
	}
	if cur != nil {
		flush()
	}
	return evs, ids
}

// TestPipelineSurvivesNodeOutage runs the whole local pipeline while the
// node refuses every batch for a while: every record must reach the node
// exactly once after deduplication, nothing may be left in the DLQ, and the
// inventory must show the API's templates.
func TestPipelineSurvivesNodeOutage(t *testing.T) {
	if _, err := os.Stat("../../node_modules/local-aws-sqs"); err != nil && os.Getenv("CI") == "" {
		t.Skip("local-aws-sqs is not installed: run npm ci")
	}
	evs, ids := corpus(t, 3000)
	fault := &Fault{}
	fault.Set(true)
	p, err := Start(t.Context(), Options{DataDir: t.TempDir(), VisibilityTimeout: 2 * time.Second, Fault: fault})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	time.AfterFunc(4*time.Second, func() { fault.Set(false) })
	if err := p.Ingest(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	c, err := p.Drain(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counts: %+v", c)
	if c.Lines != 3000 || c.Parsed != 3000 || c.Unparsed != 0 || c.Enqueued != 3000 {
		t.Errorf("ingest counts %+v", c)
	}
	if c.NodeRecords != int64(len(ids)) {
		t.Errorf("the node holds %d records, want %d distinct ids", c.NodeRecords, len(ids))
	}
	if c.Delivered < len(ids) || c.InDLQ != 0 || c.DeadLettered != 0 || c.Rejected != 0 {
		t.Errorf("delivery counts %+v", c)
	}
	if c.Retries+c.Redelivered == 0 {
		t.Error("the outage was never noticed: no retry and no redelivery")
	}
	templates := map[string]bool{}
	for _, e := range p.Endpoints() {
		templates[e.Method+" "+e.Host+e.Template] = true
	}
	for _, want := range []string{
		"GET " + synth.ShopHost + "/v1/products/{productId}",
		"GET " + synth.ShopHost + "/v1/users/me",
		"GET " + synth.ExecuteHost + "/v2/products/{productId}",
	} {
		if !templates[want] {
			t.Errorf("inventory lacks %s; has %v", want, templates)
		}
	}
}
