package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the parser's output")

// testLine is one access-log line of a testdata file.
type testLine struct {
	file string
	num  int // 1-based line number in the file
	text string
}

// readTestLines returns the lines of a testdata/*.log file. Lines starting
// with '#' describe the line that follows them and blank lines separate
// cases; no API Gateway format starts a line with either.
func readTestLines(tb testing.TB, file string) []testLine {
	tb.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var lines []testLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		lines = append(lines, testLine{file: file, num: n, text: text})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// allTestLines returns the lines of every testdata/*.log file.
func allTestLines(tb testing.TB) []testLine {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata/*.log files: %v", err)
	}
	var lines []testLine
	for _, f := range files {
		lines = append(lines, readTestLines(tb, f)...)
	}
	return lines
}

// goldenEntry is the expected result of one line: testdata/x.golden.json
// holds one per line of testdata/x.log.
type goldenEntry struct {
	Line   int           `json:"line"`
	Format string        `json:"format"`
	Record record.Record `json:"record"`
}

// TestParseGolden parses every line of testdata/*.log, which are real lines
// in every format and variant, and compares the records with the golden
// files. Every testdata line must be accepted; rejected lines are in
// TestParseErrors. Regenerate with go test -run TestParseGolden -update.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.log files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".log")
		t.Run(name, func(t *testing.T) {
			wantFormat := formatOfFile(t, name)
			var got []goldenEntry
			for _, l := range readTestLines(t, file) {
				var rec record.Record
				format, err := Parse(l.text, &rec)
				if err != nil {
					t.Errorf("line %d rejected: %v", l.num, err)
					continue
				}
				if format != wantFormat {
					t.Errorf("line %d: format %v, want %v", l.num, format, wantFormat)
				}
				if rec.Method == "" || rec.Path == "" {
					t.Errorf("line %d: accepted without method and path: %+v", l.num, rec)
				}
				got = append(got, goldenEntry{Line: l.num, Format: format.String(), Record: rec})
			}
			compareGolden(t, filepath.Join("testdata", name+".golden.json"), got)
		})
	}
}

// formatOfFile returns the format the lines of testdata/<name>.log are in,
// from the file name's prefix.
func formatOfFile(t *testing.T, name string) Format {
	t.Helper()
	prefix, _, _ := strings.Cut(name, "_")
	for f := FormatJSON; f <= FormatXML; f++ {
		if strings.EqualFold(prefix, f.String()) {
			return f
		}
	}
	t.Fatalf("testdata/%s.log: name must start with json_, clf_, csv_ or xml_", name)
	return FormatUnknown
}

func compareGolden(t *testing.T, path string, got []goldenEntry) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep paths like /a&b readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestParseGolden -update to create it)", err)
	}
	if bytes.Equal(buf.Bytes(), want) {
		return
	}
	// Report per line rather than one wall of JSON.
	var wantEntries []goldenEntry
	if err := json.Unmarshal(want, &wantEntries); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	byLine := make(map[int]goldenEntry, len(wantEntries))
	for _, e := range wantEntries {
		byLine[e.Line] = e
	}
	for _, g := range got {
		w, ok := byLine[g.Line]
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		switch {
		case !ok:
			t.Errorf("line %d: not in %s:\n got %s", g.Line, path, gj)
		case !bytes.Equal(gj, wj):
			t.Errorf("line %d:\n got %s\nwant %s", g.Line, gj, wj)
		}
		delete(byLine, g.Line)
	}
	for n := range byLine {
		t.Errorf("line %d: in %s but not parsed", n, path)
	}
	if !t.Failed() {
		t.Errorf("%s differs only in layout; run with -update", path)
	}
}

// TestParseFields checks single rules on small lines, where a golden file
// would hide what is being tested.
func TestParseFields(t *testing.T) {
	const seedTail = `"httpMethod":"GET","path":"/prod/x","stage":"prod","domainName":"a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"`
	tests := []struct {
		name   string
		line   string
		format Format
		want   record.Record
	}{
		{"JSON trailing newline", `{"requestId":"r","httpMethod":"GET","path":"/x"}` + "\n", FormatJSON,
			record.Record{ID: "r", Method: "GET", Path: "/x"}},
		{"JSON CRLF and leading spaces", "  \t{\"httpMethod\":\"GET\",\"path\":\"/x\"}\r\n", FormatJSON,
			record.Record{Method: "GET", Path: "/x"}},
		{"CLF trailing newline", `192.0.2.1 - - [01/Dec/2026:23:10:48 +0000] "GET /x HTTP/1.1" 200 5 abcdefgh-1234` + "\r\n", FormatCLF,
			record.Record{ID: "abcdefgh-1234", Time: 1796166648000, Method: "GET", Path: "/x", Protocol: "HTTP/1.1", Status: 200, ResponseBytes: 5, SourceIP: "192.0.2.1"}},
		{"CSV trailing newline", "192.0.2.1,01/Dec/2026:23:10:48 +0000,GET,/x,HTTP/1.1,200,5,abcdefgh-1234\n", FormatCSV,
			record.Record{ID: "abcdefgh-1234", Time: 1796166648000, Method: "GET", Path: "/x", Protocol: "HTTP/1.1", Status: 200, ResponseBytes: 5, SourceIP: "192.0.2.1"}},
		{"XML trailing newline", "<request id=\"r\"><httpMethod>GET</httpMethod><path>/x</path></request>\n", FormatXML,
			record.Record{ID: "r", Method: "GET", Path: "/x"}},
		{"stage prefix stripped", `{` + seedTail + `}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Stage: "prod", Host: "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", APIID: "a1b2c3d4e5"}},
		{"query cut before stage strip", `{"httpMethod":"GET","path":"/prod?x=1","stage":"prod","domainName":"a.execute-api.eu-west-1.amazonaws.com"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/", Stage: "prod", Host: "a.execute-api.eu-west-1.amazonaws.com", APIID: "a"}},
		{"stage $default never stripped", `{"httpMethod":"GET","path":"/$default/x","stage":"$default","domainName":"a.execute-api.eu-west-1.amazonaws.com"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/$default/x", Stage: "$default", Host: "a.execute-api.eu-west-1.amazonaws.com", APIID: "a"}},
		{"look-alike domain is custom", `{"httpMethod":"GET","path":"/prod/x","stage":"prod","domainName":"a.execute-api.example.com"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/prod/x", Stage: "prod", Host: "a.execute-api.example.com"}},
		{"method from route key", `{"routeKey":"GET /pets/{id}"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/pets/{id}", Template: "/pets/{id}"}},
		{"route key without method", `{"httpMethod":"GET","routeKey":"/pets/{id}"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/pets/{id}", Template: "/pets/{id}"}},
		{"resourcePath wins over routeKey", `{"httpMethod":"GET","resourcePath":"/a/{b}","routeKey":"GET /c/{d}"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/a/{b}", Template: "/a/{b}"}},
		{"requestId wins over extendedRequestId", `{"extendedRequestId":"e","requestId":"r","httpMethod":"GET","path":"/x"}`, FormatJSON,
			record.Record{ID: "r", Method: "GET", Path: "/x"}},
		{"aliases: last wins", `{"sourceIp":"192.0.2.1","ip":"192.0.2.2","identity":{"sourceIp":"192.0.2.3"},"httpMethod":"GET","path":"/x"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", SourceIP: "192.0.2.3"}},
		{"nested error group", `{"httpMethod":"GET","path":"/x","error":{"message":"m","responseType":"THROTTLED"}}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Error: "m", ResponseType: "THROTTLED"}},
		{"error as a string", `{"httpMethod":"GET","path":"/x","error":"m"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Error: "m"}},
		{"objects deeper than a group are skipped", `{"httpMethod":"GET","path":"/x","identity":{"cognito":{"sourceIp":"192.0.2.9"}}}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x"}},
		{"number for a string field", `{"httpMethod":"GET","path":"/x","stage":7}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Stage: "7"}},
		{"negative latency", `{"httpMethod":"GET","path":"/x","responseLatency":"-3"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", LatencyMs: -3}},
		{"epoch ms with fraction", `{"httpMethod":"GET","path":"/x","requestTimeEpoch":"1796166648123.9"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Time: 1796166648123}},
		{"epoch seconds", `{"httpMethod":"GET","path":"/x","requestTimeEpoch":"1796166648"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Time: 1796166648000}},
		{"epoch seconds with short fraction", `{"httpMethod":"GET","path":"/x","requestTimeEpoch":1796166648.5}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Time: 1796166648500}},
		{"invalid requestTime ignored when epoch is there", `{"httpMethod":"GET","path":"/x","requestTime":"yesterday","requestTimeEpoch":"1796166648000"}`, FormatJSON,
			record.Record{Method: "GET", Path: "/x", Time: 1796166648000}},
		{"CLF without anything after the request", `- - - [01/Dec/2026:23:10:48 +0000] "GET /x"`, FormatCLF,
			record.Record{Time: 1796166648000, Method: "GET", Path: "/x"}},
		{"CLF few fields before the time", `192.0.2.1 [01/Dec/2026:23:10:48 +0000] "GET /x HTTP/1.1"`, FormatCLF,
			record.Record{Time: 1796166648000, Method: "GET", Path: "/x", Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"}},
		{"CSV without time", "GET,/x,HTTP/1.1,200", FormatCSV,
			record.Record{Method: "GET", Path: "/x", Protocol: "HTTP/1.1", Status: 200}},
		{"CSV all-digit id ignored", "192.0.2.1,GET,/x,HTTP/1.1,200,5,12345678901", FormatCSV,
			record.Record{Method: "GET", Path: "/x", Protocol: "HTTP/1.1", Status: 200, ResponseBytes: 5, SourceIP: "192.0.2.1"}},
		{"CSV quoted column with comma", `"192.0.2.1","a,b",GET,/x`, FormatCSV,
			record.Record{Method: "GET", Path: "/x", SourceIP: "192.0.2.1"}},
		{"XML self-closing root with attributes", `<request id="r" httpMethod="GET" path="/x"/>`, FormatXML,
			record.Record{ID: "r", Method: "GET", Path: "/x"}},
		{"XML unknown nested element", `<request><httpMethod>GET</httpMethod><extra><a>1</a></extra><path>/x</path></request>`, FormatXML,
			record.Record{Method: "GET", Path: "/x"}},
		{"XML closing tag inside text", `<request><httpMethod>GET</httpMethod><userAgent>a</b>c</userAgent><path>/x</path></request>`, FormatXML,
			record.Record{Method: "GET", Path: "/x", UserAgent: "a</b>c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec record.Record
			format, err := Parse(tt.line, &rec)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if format != tt.format {
				t.Errorf("format %v, want %v", format, tt.format)
			}
			if rec != tt.want {
				t.Errorf("\n got %+v\nwant %+v", rec, tt.want)
			}
		})
	}
}

// TestParseOverwritesOnlyRequestFields checks the contract with the caller:
// the fields it owns survive, and request fields of an earlier line do not
// leak into the next record.
func TestParseOverwritesOnlyRequestFields(t *testing.T) {
	rec := record.Record{
		ID: "old", AppID: "app-7", Time: 1, EventTime: 1796166649000, Method: "OLD", Host: "old", Path: "/old",
		Template: "/old", Protocol: "old", Stage: "old", APIID: "old", Status: 1, IntegrationStatus: 1,
		ResponseBytes: 1, LatencyMs: 1, IntegrationLatency: 1, SourceIP: "old", UserAgent: "old", Error: "old",
		IntegrationError: "old", ResponseType: "old", LogGroup: "/aws/apigateway/x", LogStream: "stream", Account: "123456789012",
	}
	if _, err := Parse(`{"httpMethod":"GET","path":"/new"}`, &rec); err != nil {
		t.Fatal(err)
	}
	want := record.Record{
		AppID: "app-7", EventTime: 1796166649000, Method: "GET", Path: "/new",
		LogGroup: "/aws/apigateway/x", LogStream: "stream", Account: "123456789012",
	}
	if rec != want {
		t.Errorf("\n got %+v\nwant %+v", rec, want)
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{
		FormatUnknown: "unknown", FormatJSON: "JSON", FormatCLF: "CLF", FormatCSV: "CSV", FormatXML: "XML", Format(99): "unknown",
	} {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q, want %q", f, got, want)
		}
	}
}

func TestParseEpochMs(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1796166648123", 1796166648123, true},
		{"1796166648", 1796166648000, true},
		{"1796166648.1", 1796166648100, true},
		{"1796166648.12345", 1796166648123, true},
		{"1796166648123.999", 1796166648123, true},
		{"1.796166648123e12", 1796166648123, true},
		{"0", 0, true},
		{"", 0, false},
		{"-1796166648", 0, false},
		{"1796166648.", 0, false},
		{"17961x", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseEpochMs(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseEpochMs(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCLFTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"01/Dec/2026:23:10:48 +0000", 1796166648000, true},
		{"01/Dec/2026:18:10:48 -0500", 1796166648000, true},
		{"02/Dec/2026:04:40:48 +0530", 1796166648000, true},
		{"29/Feb/2028:00:00:00 +0000", 1835395200000, true},
		{"01/dec/2026:23:10:48 +0000", 0, false},
		{"01/Dec/2026:24:10:48 +0000", 0, false},
		{"00/Dec/2026:23:10:48 +0000", 0, false},
		{"01/Dec/2026:23:10:48 0000", 0, false},
		{"01/Dec/2026:23:10:48 *0000", 0, false},
		{"1/Dec/2026:23:10:48 +0000", 0, false},
		{"01/Dec/2026 23:10:48 +0000", 0, false},
		{"2026-12-01T23:10:48Z", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseCLFTime(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseCLFTime(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
