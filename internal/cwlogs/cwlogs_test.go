package cwlogs

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// encode builds awslogs.data the way CloudWatch Logs does.
func encode(t testing.TB, doc []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(doc); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func encodeJSON(t testing.TB, v any) string {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return encode(t, doc)
}

// reference decodes with aws-lambda-go, the implementation most Lambdas use.
func reference(t testing.TB, data string) events.CloudwatchLogsData {
	t.Helper()
	got, err := events.CloudwatchLogsRawData{Data: data}.Parse()
	if err != nil {
		t.Fatalf("reference parse: %v", err)
	}
	return got
}

func assertMatchesReference(t *testing.T, data string, p *Payload) {
	t.Helper()
	want := reference(t, data)
	if p.MessageType != want.MessageType || p.Owner != want.Owner || p.LogGroup != want.LogGroup || p.LogStream != want.LogStream {
		t.Errorf("header: got %q %q %q %q, want %q %q %q %q", p.MessageType, p.Owner, p.LogGroup, p.LogStream,
			want.MessageType, want.Owner, want.LogGroup, want.LogStream)
	}
	if strings.Join(p.SubscriptionFilters, ",") != strings.Join(want.SubscriptionFilters, ",") {
		t.Errorf("filters: got %q want %q", p.SubscriptionFilters, want.SubscriptionFilters)
	}
	if len(p.LogEvents) != len(want.LogEvents) {
		t.Fatalf("got %d events, want %d", len(p.LogEvents), len(want.LogEvents))
	}
	for i, e := range want.LogEvents {
		g := p.LogEvents[i]
		if g.ID != e.ID || g.Timestamp != e.Timestamp || g.Message != e.Message {
			t.Errorf("event %d: got %+v want %+v", i, g, e)
		}
	}
}

func TestDecodeSAMSample(t *testing.T) {
	raw, err := os.ReadFile("testdata/sam-cli-sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	p, err := NewDecoder(Limits{}).Decode(ev.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	assertMatchesReference(t, ev.AWSLogs.Data, p)
	if p.MessageType != DataMessage || len(p.LogEvents) == 0 {
		t.Errorf("unexpected payload %+v", p)
	}
}

func doc(events ...map[string]any) map[string]any {
	return map[string]any{
		"messageType":         DataMessage,
		"owner":               "123456789012",
		"logGroup":            "/aws/apigateway/shop",
		"logStream":           "a1b2c3d4e5f6g7h8i9j0",
		"subscriptionFilters": []string{"gwtap"},
		"logEvents":           events,
	}
}

func ev(id string, ts int64, msg string) map[string]any {
	return map[string]any{"id": id, "timestamp": ts, "message": msg}
}

func TestDecodeMatchesReference(t *testing.T) {
	line := `{"requestId":"c6f1","httpMethod":"GET","path":"/prod/users/42","status":"200","userAgent":"Mozilla/5.0 \"x\" \\ /"}`
	tests := []struct {
		name string
		doc  map[string]any
	}{
		{"json lines", doc(ev("1", 1764630648123, line), ev("2", 1764630648124, line))},
		{"no events", doc()},
		{"unicode and escapes", doc(ev("3", 1, "é 漢字 \u2028 😀 \t\n\r\b\f </script> \x01"))},
		{"empty message", doc(ev("4", 0, ""))},
		{"control message", map[string]any{
			"messageType": ControlMessage, "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
			"subscriptionFilters": []string{}, "logEvents": []map[string]any{ev("5", 1, "CWL CONTROL MESSAGE: Checking health of destination Lambda.")},
		}},
		{"unknown fields and nesting", map[string]any{
			"messageType": DataMessage, "owner": "1", "logGroup": "g", "logStream": "s",
			"extra": map[string]any{"a": []any{1, 2.5, true, nil, "x", map[string]any{"b": "c"}}}, "policyLevel": "ACCOUNT_LEVEL_POLICY",
			"logEvents": []map[string]any{{"id": "6", "timestamp": 7, "message": "m", "extractedFields": map[string]any{"k": "v"}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeJSON(t, tt.doc)
			p, err := NewDecoder(Limits{}).Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			assertMatchesReference(t, data, p)
		})
	}
}

func TestDecodeHandWrittenEscapes(t *testing.T) {
	// encoding/json never writes \/ or surrogate pairs, but other producers may.
	raw := `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"a\/b","logStream":"s","subscriptionFilters":["f"],` +
		`"logEvents":[{"id":"1","timestamp":2,"message":"\ud83d\ude00 \ud800x \u00e9 \/"}]}`
	p, err := NewDecoder(Limits{}).Decode(encode(t, []byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if p.LogGroup != "a/b" {
		t.Errorf("log group %q", p.LogGroup)
	}
	if want := "😀 \uFFFDx é /"; p.LogEvents[0].Message != want {
		t.Errorf("message %q, want %q", p.LogEvents[0].Message, want)
	}
}

func TestDecodeOversizedLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	data := encodeJSON(t, doc(ev("1", 1, "short"), ev("2", 2, long), ev("3", 3, "after")))
	p, err := NewDecoder(Limits{MaxLine: 99}).Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Oversized != 1 || len(p.LogEvents) != 2 {
		t.Fatalf("oversized=%d events=%d", p.Oversized, len(p.LogEvents))
	}
	if p.LogEvents[0].Message != "short" || p.LogEvents[1].Message != "after" || p.LogEvents[1].ID != "3" {
		t.Errorf("events around the dropped one changed: %+v", p.LogEvents)
	}
}

func TestDecodeErrors(t *testing.T) {
	bomb := func() string {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zeros := make([]byte, 1<<20)
		for range 64 { // 64 MiB of zeros compress to ~64 KiB
			_, _ = zw.Write(zeros)
		}
		_ = zw.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}()
	valid := encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":[]}`))
	gz, _ := base64.StdEncoding.DecodeString(valid)
	tests := []struct {
		name string
		data string
		lim  Limits
		want error
	}{
		{"empty", "", Limits{}, ErrGzip},
		{"not base64", "!!!not base64!!!", Limits{}, ErrBase64},
		{"truncated base64", valid[:len(valid)-3], Limits{}, ErrBase64},
		{"not gzip", base64.StdEncoding.EncodeToString([]byte(`{"messageType":"DATA_MESSAGE"}`)), Limits{}, ErrGzip},
		{"truncated gzip", base64.StdEncoding.EncodeToString(gz[:len(gz)-6]), Limits{}, ErrGzip},
		{"gzip bomb", bomb, Limits{MaxDecompressed: 8 << 20}, ErrTooLarge},
		{"just over the limit", encode(t, bytes.Repeat([]byte(" "), 1001)), Limits{MaxDecompressed: 1000}, ErrTooLarge},
		{"not json", encode(t, []byte("hello")), Limits{}, ErrJSON},
		{"array", encode(t, []byte(`[]`)), Limits{}, ErrJSON},
		{"no message type", encode(t, []byte(`{"logEvents":[]}`)), Limits{}, ErrJSON},
		{"events not array", encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":{}}`)), Limits{}, ErrJSON},
		{"event not object", encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":["x"]}`)), Limits{}, ErrJSON},
		{"timestamp not int", encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"timestamp":"1"}]}`)), Limits{}, ErrJSON},
		{"timestamp overflow", encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"timestamp":99999999999999999999}]}`)), Limits{}, ErrJSON},
		{"bad escape", encode(t, []byte(`{"messageType":"DATA\q"}`)), Limits{}, ErrJSON},
		{"bad unicode escape", encode(t, []byte(`{"messageType":"\u12G4"}`)), Limits{}, ErrJSON},
		{"unterminated", encode(t, []byte(`{"messageType":"DATA_MESSAGE","logEvents":[{"message":"abc`)), Limits{}, ErrJSON},
		{"trailing data", encode(t, []byte(`{"messageType":"DATA_MESSAGE"} x`)), Limits{}, ErrJSON},
		{"too deep", encode(t, []byte(`{"messageType":"DATA_MESSAGE","x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`)), Limits{}, ErrJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewDecoder(tt.lim).Decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (payload %+v), want %v", err, p, tt.want)
			}
		})
	}
}

func TestDecoderReuseKeepsEarlierResults(t *testing.T) {
	d := NewDecoder(Limits{})
	first, err := d.Decode(encodeJSON(t, doc(ev("1", 1, "first message"))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(encodeJSON(t, doc(ev("2", 2, "second message, longer than the first")))); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode("garbage"); err == nil {
		t.Fatal("expected error")
	}
	if first.LogEvents[0].Message != "first message" || first.LogGroup != "/aws/apigateway/shop" {
		t.Errorf("earlier payload changed after reuse: %+v", first)
	}
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":2,"message":"m\"\\\u00e9"}]}`))
	f.Add([]byte(`{"messageType":"CONTROL_MESSAGE","logEvents":[]}`))
	f.Add([]byte(`{"a":[{"b":[1,2,{"c":null}]}],"messageType":"x"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		data := encode(t, raw)
		p, err := NewDecoder(Limits{MaxLine: 64}).Decode(data)
		want, rerr := events.CloudwatchLogsRawData{Data: data}.Parse()
		if err != nil {
			return
		}
		for _, e := range p.LogEvents {
			if len(e.Message) > 64 {
				t.Fatalf("message over the line cap: %d bytes", len(e.Message))
			}
		}
		// Where both accept a well-formed document with no oversized lines
		// and no duplicate keys, they must agree.
		if rerr != nil || p.Oversized > 0 || bytes.Count(raw, []byte(`"logEvents"`)) > 1 || !json.Valid(raw) {
			return
		}
		if len(want.LogEvents) != len(p.LogEvents) {
			return // duplicate keys inside events: both behaviours are acceptable
		}
		if want.MessageType != p.MessageType && bytes.Count(raw, []byte(`"messageType"`)) == 1 {
			t.Fatalf("messageType %q vs reference %q", p.MessageType, want.MessageType)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("H4sIAAAAAAAAAHWPwQqCQBCGX0Xm7EFtK+smZBEUgXoLCdMhFtKV3akI8d0bLYmibvPPN3wz00CJxmQnTO41whwWQRIctmEcB6sQbFC3CjW3XW8kxpOpP+OC22d1Wml1qZkQGtoMsScxaczKN3plG8zlaHIta5KqWsozoTYw3/djzwhpLwivWFGHGpAFe7DL68JlBUk+l7KSN7tCOEJ4M3/qOI49vMHj+zCKdlFqLaU2ZHV2a4Ct/an0/ivdX8oYc1UVX860fQDQiMdxRQEAAA==")
	f.Add("")
	f.Add("H4sI")
	f.Fuzz(func(t *testing.T, data string) {
		_, _ = NewDecoder(Limits{MaxDecompressed: 1 << 20}).Decode(data)
	})
}

func TestEncodeRoundTrip(t *testing.T) {
	in := &Payload{
		MessageType: DataMessage, Owner: "123456789012", LogGroup: "/aws/apigateway/x", LogStream: "s",
		SubscriptionFilters: []string{"f"},
		LogEvents:           []LogEvent{{ID: "1", Timestamp: 2, Message: `{"a":"\"b\""}`}, {ID: "3", Timestamp: 4, Message: "é"}},
	}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Encode(in)
	if again != data {
		t.Error("Encode is not deterministic")
	}
	out, err := NewDecoder(Limits{}).Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	assertMatchesReference(t, data, out)
	if out.LogEvents[0].Message != in.LogEvents[0].Message || out.Owner != in.Owner {
		t.Errorf("round trip: %+v", out)
	}
}

func TestInitialSizeFromGzipTrailer(t *testing.T) {
	doc := bytes.Repeat([]byte(`{"messageType":"DATA_MESSAGE"}`), 1000)
	raw, err := base64.StdEncoding.DecodeString(encode(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := initialSize(raw, 0); got != len(doc)+1 {
		t.Errorf("initialSize = %d, want %d (ISIZE + 1)", got, len(doc)+1)
	}
	// A trailer claiming less than the compressed size is not believed.
	forged := append(append([]byte{}, raw[:len(raw)-4]...), 0, 0, 0, 0)
	if got := initialSize(forged, 0); got < len(forged)*10 {
		t.Errorf("forged trailer: initialSize = %d", got)
	}
	// Nor one claiming more than deflate can expand to.
	huge := append(append([]byte{}, raw[:len(raw)-4]...), 0xff, 0xff, 0xff, 0x7f)
	if got := initialSize(huge, 0); got > len(huge)*1032 {
		t.Errorf("forged huge trailer: initialSize = %d", got)
	}
	if got := initialSize([]byte{1, 2}, 5000); got != 64<<10 {
		t.Errorf("short input: initialSize = %d", got)
	}
}
