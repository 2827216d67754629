package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/record"
)

func TestBuildEveryValidLineBecomesARecord(t *testing.T) {
	good := synthLines(500, 3)
	bad := []string{"not an access log line", `{"requestId": "x", "status": "200"}`, `{"truncated": `}
	lines := append([]string{}, good[:250]...)
	lines = append(lines, bad...)
	lines = append(lines, good[250:]...)
	p, err := NewPipeline(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Build(payload(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	st := b.Stats
	if st.Lines != 503 || st.Parsed != 500 || st.Unparsed != 3 || st.Enqueued != 500 || st.Messages != 1 {
		t.Errorf("stats: %+v", st)
	}
	if st.ByFormat[accesslog.FormatJSON] != 500 {
		t.Errorf("by format: %v", st.ByFormat)
	}
	if len(b.Samples) != 3 {
		t.Errorf("samples: %+v", b.Samples)
	}
	got := openAll(t, bodies(b.Messages))
	if len(got) != 500 {
		t.Fatalf("%d records in envelopes", len(got))
	}
	for i, line := range good {
		var want record.Record
		if _, err := accesslog.Parse(line, &want); err != nil {
			t.Fatal(err)
		}
		want.AppID = "7"
		want.LogGroup = "/aws/apigateway/shop"
		want.LogStream = "stream-1"
		want.Account = "123456789012"
		want.EventTime = got[i].EventTime
		if want.Time == 0 {
			want.Time = want.EventTime
		}
		if got[i] != want {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}
}

func TestBuildStampsAndFallbacks(t *testing.T) {
	// No requestId and no request time: the id comes from the event's
	// coordinates and the time from the event timestamp.
	line := `{"httpMethod":"GET","path":"/pets","status":"200"}`
	long := `{"requestId":"r1","httpMethod":"GET","path":"/p","userAgent":"` + strings.Repeat("é", 2000) + `"}`
	p, err := NewPipeline(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Build(payload(t, line, line, long))
	if err != nil {
		t.Fatal(err)
	}
	recs := openAll(t, bodies(b.Messages))
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].ID == "" || recs[0].ID == recs[1].ID || !strings.HasPrefix(recs[0].ID, "cw-") {
		t.Errorf("fallback ids %q %q", recs[0].ID, recs[1].ID)
	}
	if recs[0].ID != record.FallbackID("/aws/apigateway/shop", "stream-1", "ev000a0") {
		t.Errorf("fallback id not derived from the event: %q", recs[0].ID)
	}
	if recs[0].Time != recs[0].EventTime || recs[0].Time == 0 {
		t.Errorf("time %d event time %d", recs[0].Time, recs[0].EventTime)
	}
	if ua := recs[2].UserAgent; len(ua) > maxTextBytes || !strings.HasPrefix(ua, "éé") || strings.ContainsRune(ua, '\uFFFD') {
		t.Errorf("user agent not clipped on a rune boundary: %d bytes", len(ua))
	}
	// The same delivery again yields the same ids (so redelivery dedups).
	again, _ := p.Build(payload(t, line, line, long))
	if openAll(t, bodies(again.Messages))[0].ID != recs[0].ID {
		t.Error("fallback id not stable across redelivery")
	}
}

func TestBuildControlMessage(t *testing.T) {
	data, err := cwlogs.Encode(&cwlogs.Payload{MessageType: cwlogs.ControlMessage, Owner: "CloudwatchLogs",
		LogEvents: []cwlogs.LogEvent{{ID: "1", Timestamp: 1, Message: "CWL CONTROL MESSAGE: Checking health of destination Lambda."}}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := NewPipeline(testConfig(t))
	b, err := p.Build(data)
	if err != nil || !b.Control || len(b.Messages) != 0 {
		t.Fatalf("control: %+v %v", b, err)
	}
}

func TestBuildOversizedLines(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxLineBytes = 1024
	p, _ := NewPipeline(cfg)
	lines := synthLines(2, 1)
	huge := strings.Replace(lines[0], `"userAgent": "`, `"userAgent": "`+strings.Repeat("x", 2000), 1)
	b, err := p.Build(payload(t, lines[0], huge, lines[1]))
	if err != nil {
		t.Fatal(err)
	}
	if b.Stats.Lines != 3 || b.Stats.Oversized != 1 || b.Stats.Unparsed != 1 || b.Stats.Parsed != 2 {
		t.Errorf("stats %+v", b.Stats)
	}
}

func TestBuildRejectsBadDeliveries(t *testing.T) {
	p, _ := NewPipeline(testConfig(t))
	for _, data := range []string{"", "not base64!", "H4sIAAAAAAAA"} {
		if _, err := p.Build(data); err == nil {
			t.Errorf("%q accepted", data)
		}
	}
	cfg := testConfig(t)
	cfg.MaxDecompressedBytes = 1 << 20
	small, _ := NewPipeline(cfg)
	if _, err := small.Build(payload(t, synthLines(4000, 2)...)); !errors.Is(err, cwlogs.ErrTooLarge) {
		t.Errorf("over the decompression cap: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},
		{"éé", 3, "é"},
		{"漢字", 4, "漢"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestBuildLargeDeliveryPacksAsItGoes crosses packEvery several times: every
// record must still arrive once, in order, in full messages.
func TestBuildLargeDeliveryPacksAsItGoes(t *testing.T) {
	lines := synthLines(30000, 8)
	p, err := NewPipeline(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Build(payload(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	if b.Stats.RawBytes < 2*packEvery {
		t.Fatalf("only %d bytes of NDJSON; the test must cross packEvery", b.Stats.RawBytes)
	}
	recs := openAll(t, bodies(b.Messages))
	if len(recs) != len(lines) || b.Stats.Enqueued != len(lines) {
		t.Fatalf("%d records in envelopes, %d enqueued, want %d", len(recs), b.Stats.Enqueued, len(lines))
	}
	for i, l := range lines {
		var want record.Record
		if _, err := accesslog.Parse(l, &want); err != nil {
			t.Fatal(err)
		}
		if recs[i].ID != want.ID {
			t.Fatalf("record %d is %s, want %s", i, recs[i].ID, want.ID)
		}
	}
	for i, m := range b.Messages[:len(b.Messages)-1] {
		if m.Size() < testConfig(t).MaxMessageBytes*3/4 {
			t.Errorf("message %d of %d is only %d bytes", i, len(b.Messages), m.Size())
		}
	}
}
