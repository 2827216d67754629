package ingest

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/synth"
)

const testQueueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-traffic"

func testConfig(t testing.TB) Config {
	t.Helper()
	c, err := LoadConfig(env(map[string]string{EnvAppID: "7", EnvQueueURL: testQueueURL}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// synthLines returns n seed-format lines of realistic traffic.
func synthLines(n int, seed uint64) []string {
	g := synth.New(seed, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	out := make([]string, n)
	for i := range out {
		out[i] = synth.SeedJSON(g.Next())
	}
	return out
}

// payload encodes lines as one subscription delivery.
func payload(t testing.TB, lines ...string) string {
	t.Helper()
	p := &cwlogs.Payload{
		MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: "/aws/apigateway/shop",
		LogStream: "stream-1", SubscriptionFilters: []string{"gwtap"},
	}
	for i, l := range lines {
		p.LogEvents = append(p.LogEvents, cwlogs.LogEvent{ID: "ev" + strings.Repeat("0", 3) + string(rune('a'+i%26)) + itoa(i), Timestamp: 1796083200000 + int64(i), Message: l})
	}
	data, err := cwlogs.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// openAll decodes every record in msgs.
func openAll(t testing.TB, bodies []string) []record.Record {
	t.Helper()
	o, err := envelope.NewOpener(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []record.Record
	for _, b := range bodies {
		raw, err := o.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range envelope.Lines(raw) {
			var r record.Record
			if err := json.Unmarshal(l, &r); err != nil {
				t.Fatalf("record is not JSON: %v: %s", err, l)
			}
			out = append(out, r)
		}
	}
	return out
}

func bodies(msgs []envelope.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
