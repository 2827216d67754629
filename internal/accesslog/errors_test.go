package accesslog

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gwtap/gwtap/internal/record"
)

// TestParseErrors is the table of reject reasons: each line must be
// rejected with the given sentinel, format and (when not -2) offset.
func TestParseErrors(t *testing.T) {
	const anyOffset = -2
	const seed = `{ "requestId": "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10", "httpMethod": "GET", "path": "/prod/users/42", "status": "200" }`
	tests := []struct {
		name   string
		line   string
		reason error
		format Format
		offset int
	}{
		{"empty", "", ErrEmpty, FormatUnknown, -1},
		{"white space only", " \t\r\n", ErrEmpty, FormatUnknown, -1},
		{"plain text", "START RequestId: 8f5e Version: $LATEST", ErrUnknownFormat, FormatUnknown, 0},
		{"plain text after spaces", "  hello", ErrUnknownFormat, FormatUnknown, 2},

		// JSON syntax.
		{"JSON cut after key", `{"httpMethod"`, ErrMalformed, FormatJSON, 13},
		{"JSON cut in string", `{"httpMethod":"GE`, ErrMalformed, FormatJSON, 14},
		{"JSON cut after value", `{"httpMethod":"GET"`, ErrMalformed, FormatJSON, 19},
		{"JSON cut after comma", `{"httpMethod":"GET",`, ErrMalformed, FormatJSON, 20},
		{"JSON only brace", `{`, ErrMalformed, FormatJSON, 1},
		{"JSON seed cut in half", seed[:len(seed)/2], ErrMalformed, FormatJSON, anyOffset},
		{"JSON seed without closing brace", seed[:len(seed)-1], ErrMalformed, FormatJSON, len(seed) - 1},
		{"JSON data after object", `{"httpMethod":"GET","path":"/x"} {"a":1}`, ErrMalformed, FormatJSON, 33},
		{"JSON missing colon", `{"httpMethod" "GET"}`, ErrMalformed, FormatJSON, 14},
		{"JSON missing comma", `{"httpMethod":"GET" "path":"/x"}`, ErrMalformed, FormatJSON, 20},
		{"JSON trailing comma", `{"httpMethod":"GET",}`, ErrMalformed, FormatJSON, 20},
		{"JSON single quotes", `{'httpMethod':'GET'}`, ErrMalformed, FormatJSON, 1},
		{"JSON bare key", `{httpMethod:"GET"}`, ErrMalformed, FormatJSON, 1},
		{"JSON invalid escape", `{"httpMethod":"G\xT"}`, ErrMalformed, FormatJSON, 16},
		{"JSON short unicode escape", `{"httpMethod":"\u12"}`, ErrMalformed, FormatJSON, 15},
		{"JSON bad hex in unicode escape", `{"path":"\u12G4"}`, ErrMalformed, FormatJSON, 9},
		{"JSON invalid escape in skipped value", `{"caller":"\q","httpMethod":"GET","path":"/x"}`, ErrMalformed, FormatJSON, 11},
		{"JSON invalid number", `{"status":01}`, ErrMalformed, FormatJSON, 11},
		{"JSON bare minus", `{"status":-}`, ErrMalformed, FormatJSON, 11},
		{"JSON number with dot only", `{"status":2.}`, ErrMalformed, FormatJSON, 10},
		{"JSON number with bad exponent", `{"x":1e+}`, ErrMalformed, FormatJSON, 5},
		{"JSON invalid literal", `{"path":nul}`, ErrMalformed, FormatJSON, 8},
		{"JSON invalid literal skipped", `{"x":tru}`, ErrMalformed, FormatJSON, 5},
		{"JSON unexpected character", `{"x":@}`, ErrMalformed, FormatJSON, 5},
		{"JSON unbalanced array", `{"x":[1,2}`, ErrMalformed, FormatJSON, 9},
		{"JSON unbalanced object", `{"x":{"a":1]}`, ErrMalformed, FormatJSON, 11},
		{"JSON non-string key in skipped object", `{"x":{1:2}}`, ErrMalformed, FormatJSON, 6},
		{"JSON nesting too deep", `{"x":` + strings.Repeat("[", maxDepth+10), ErrMalformed, FormatJSON, anyOffset},
		{"JSON group nested too deep is skipped, then cut", `{"error":{"x":{"y":`, ErrMalformed, FormatJSON, 19},

		// JSON values of the wrong type or shape.
		{"status object", `{"status": {}, "httpMethod":"GET","path":"/x"}`, ErrInvalidValue, FormatJSON, 11},
		{"status array", `{"httpMethod":"GET","path":"/x","status":[200]}`, ErrInvalidValue, FormatJSON, 41},
		{"status boolean", `{"httpMethod":"GET","path":"/x","status":true}`, ErrInvalidValue, FormatJSON, 41},
		{"status text", `{"httpMethod":"GET","path":"/x","status":"OK"}`, ErrInvalidValue, FormatJSON, 41},
		{"status with spaces", `{"httpMethod":"GET","path":"/x","status":" 200"}`, ErrInvalidValue, FormatJSON, 41},
		{"status overflow", `{"httpMethod":"GET","path":"/x","status":99999999999999999999}`, ErrInvalidValue, FormatJSON, 41},
		{"status exponent overflow", `{"httpMethod":"GET","path":"/x","status":1e400}`, ErrInvalidValue, FormatJSON, 41},
		{"latency text", `{"httpMethod":"GET","path":"/x","responseLatency":"35ms"}`, ErrInvalidValue, FormatJSON, 50},
		{"length fraction without digits", `{"httpMethod":"GET","path":"/x","responseLength":"3."}`, ErrInvalidValue, FormatJSON, 49},
		{"epoch negative", `{"httpMethod":"GET","path":"/x","requestTimeEpoch":-5}`, ErrInvalidValue, FormatJSON, 51},
		{"epoch text", `{"httpMethod":"GET","path":"/x","requestTimeEpoch":"now"}`, ErrInvalidValue, FormatJSON, 51},
		{"method object", `{"httpMethod":{"v":"GET"},"path":"/x"}`, ErrInvalidValue, FormatJSON, 14},
		{"path array", `{"httpMethod":"GET","path":["/x"]}`, ErrInvalidValue, FormatJSON, 27},
		{"user agent boolean", `{"httpMethod":"GET","path":"/x","userAgent":false}`, ErrInvalidValue, FormatJSON, 44},
		{"requestTime not CLF", `{"httpMethod":"GET","path":"/x","requestTime":"2026-12-01T23:10:48Z"}`, ErrInvalidValue, FormatJSON, 47},
		{"value in a group", `{"httpMethod":"GET","path":"/x","integration":{"status":{}}}`, ErrInvalidValue, FormatJSON, 56},

		// JSON without what a record needs.
		{"JSON empty object", `{}`, ErrMissingMethod, FormatJSON, -1},
		{"JSON no method", `{"path":"/x"}`, ErrMissingMethod, FormatJSON, -1},
		{"JSON method dash", `{"httpMethod":"-","path":"/x"}`, ErrMissingMethod, FormatJSON, -1},
		{"JSON method null", `{"httpMethod":null,"path":"/x"}`, ErrMissingMethod, FormatJSON, -1},
		{"JSON ANY route is no method", `{"routeKey":"ANY /x"}`, ErrMissingMethod, FormatJSON, -1},
		{"JSON no path", `{"httpMethod":"GET"}`, ErrMissingPath, FormatJSON, -1},
		{"JSON path dash", `{"httpMethod":"GET","path":"-","resourcePath":"-"}`, ErrMissingPath, FormatJSON, -1},
		{"JSON $default route only", `{"httpMethod":"GET","routeKey":"$default","status":"200"}`, ErrMissingPath, FormatJSON, -1},
		{"JSON WebSocket route", `{"httpMethod":"GET","routeKey":"$connect"}`, ErrMissingPath, FormatJSON, -1},

		// CLF.
		{"CLF cut in request", `203.0.113.7 - - [01/Dec/2026:23:10:48 +0000] "GET /pets/{petId} HT`, ErrMalformed, FormatCLF, 45},
		{"CLF bad time", `203.0.113.7 - - [01/Foo/2026:23:10:48 +0000] "GET /x HTTP/1.1" 200 5`, ErrInvalidValue, FormatCLF, 17},
		{"CLF empty request", `203.0.113.7 - - [01/Dec/2026:23:10:48 +0000] "" 400 5`, ErrMissingMethod, FormatCLF, -1},
		{"CLF method only", `203.0.113.7 - - [01/Dec/2026:23:10:48 +0000] "GET HTTP/1.1" 400 5`, ErrMissingPath, FormatCLF, -1},
		{"CLF REST resource unknown", `192.0.2.44 - - [01/Dec/2026:23:10:50 +0000]"GET - HTTP/1.1" 403 42 5d7c9e1f-2a4b-4c6d-8e0f-1a3b5c7d9e2f`, ErrMissingPath, FormatCLF, -1},
		{"CLF HTTP $default route", `198.51.100.23 - - [01/Dec/2026:23:10:48 +0000] "GET $default HTTP/1.1" 200 85 JDt7ZiYJIAMEMlA=`, ErrMissingPath, FormatCLF, -1},

		// CSV.
		{"CSV without method column", "203.0.113.7,-,-,01/Dec/2026:23:10:48 +0000", ErrMissingMethod, FormatCSV, -1},
		{"CSV cut before path", "203.0.113.7,-,-,01/Dec/2026:23:10:48 +0000,GET", ErrMissingMethod, FormatCSV, -1},
		{"CSV HTTP $default route", "198.51.100.23,01/Dec/2026:23:10:48 +0000,GET,$default,HTTP/1.1,200,85,JDt7ZiYJIAMEMlA=", ErrMissingPath, FormatCSV, -1},
		{"CSV bad time", "203.0.113.7,-,-,01/Dec/2026:25:10:48 +0000,GET,/pets,HTTP/1.1,200,52", ErrInvalidValue, FormatCSV, 16},
		{"JSON array is CSV without method", `[1,2]`, ErrMissingMethod, FormatCSV, -1},

		// XML.
		{"XML cut in root", `<request id="x"`, ErrMalformed, FormatXML, 15},
		{"XML cut in attribute", `<request id="x`, ErrMalformed, FormatXML, 12},
		{"XML cut after child", `<request id="x"> <httpMethod>GET</httpMethod>`, ErrMalformed, FormatXML, 45},
		{"XML cut in child", `<request id="x"> <httpMethod>GET</httpMe`, ErrMalformed, FormatXML, 17},
		{"XML wrong end tag", `<request><httpMethod>GET</httpMethod><path>/x</path></response>`, ErrMalformed, FormatXML, 52},
		{"XML no name", `< request/>`, ErrMalformed, FormatXML, 1},
		{"XML text under root", `<request>GET</request>`, ErrMalformed, FormatXML, 9},
		{"XML attribute without value", `<request id><httpMethod>GET</httpMethod></request>`, ErrMalformed, FormatXML, 11},
		{"XML unquoted attribute", `<request id=x/>`, ErrMalformed, FormatXML, 12},
		{"XML data after root", `<request httpMethod="GET" path="/x"/><more/>`, ErrMalformed, FormatXML, 37},
		{"XML declaration", `<?xml version="1.0"?><request/>`, ErrMalformed, FormatXML, 1},
		{"XML bad status", `<request><httpMethod>GET</httpMethod><path>/x</path><status>OK</status></request>`, ErrInvalidValue, FormatXML, 60},
		{"XML no path", `<request id="x"><httpMethod>GET</httpMethod><routeKey>$default</routeKey></request>`, ErrMissingPath, FormatXML, -1},
		{"XML nothing", `<request/>`, ErrMissingMethod, FormatXML, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := record.Record{ID: "untouched", Method: "PUT", Path: "/before", AppID: "app"}
			before := rec
			format, err := Parse(tt.line, &rec)
			if err == nil {
				t.Fatalf("accepted: %+v", rec)
			}
			if !errors.Is(err, tt.reason) {
				t.Errorf("error %v, want reason %v", err, tt.reason)
			}
			if format != tt.format {
				t.Errorf("format %v, want %v", format, tt.format)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Format != format || pe.Reason != tt.reason {
				t.Errorf("ParseError{Format: %v, Reason: %v}, want %v, %v", pe.Format, pe.Reason, format, tt.reason)
			}
			if tt.offset != anyOffset && pe.Offset != tt.offset {
				t.Errorf("offset %d, want %d (%v)", pe.Offset, tt.offset, err)
			}
			if rec != before {
				t.Errorf("record changed on error: %+v", rec)
			}
		})
	}
}

// TestParseErrorExcerpt checks that rejecting a huge line yields a short,
// valid UTF-8 excerpt around the problem, which callers log as a sample.
func TestParseErrorExcerpt(t *testing.T) {
	long := strings.Repeat("é", 100_000) // two bytes each, so cuts land mid-rune
	tests := []struct {
		name    string
		line    string
		contain string
	}{
		{"problem at the end", `{"userAgent":"` + long + `","httpMethod":"GET","path":"/x",}`, `"/x",}`},
		{"problem at the start", `{"httpMethod" "GET","userAgent":"` + long + `"}`, `{"httpMethod" "GET"`},
		{"problem in the middle", `{"userAgent":"` + long + `","status":"OK","caller":"` + long + `"}`, `"status":"OK"`},
		{"missing method", `{"userAgent":"` + long + `","path":"/x"}`, `{"userAgent":"éé`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.line, new(record.Record))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if n := len(pe.Excerpt); n > maxExcerpt+2*len("…") {
				t.Errorf("excerpt is %d bytes", n)
			}
			if !utf8.ValidString(pe.Excerpt) {
				t.Errorf("excerpt is not valid UTF-8: %q", pe.Excerpt)
			}
			if !strings.Contains(pe.Excerpt, tt.contain) {
				t.Errorf("excerpt %q does not show %q", pe.Excerpt, tt.contain)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error text is %d bytes", len(err.Error()))
			}
		})
	}
}

// TestParseLongLines checks that very long values are accepted whole: a
// CloudWatch event may be 256 KB, and nothing in the parser is sized.
func TestParseLongLines(t *testing.T) {
	ua := strings.Repeat("Mozilla/5.0 ", 30_000)
	path := "/" + strings.Repeat("a/", 50_000)
	tests := []struct {
		name string
		line string
		want record.Record
	}{
		{"JSON", `{"httpMethod":"GET","path":"` + path + `","userAgent":"` + ua + `"}`,
			record.Record{Method: "GET", Path: path, UserAgent: ua}},
		{"JSON escaped", `{"httpMethod":"GET","path":"/x","userAgent":"` + strings.ReplaceAll(ua, "/", `\/`) + `"}`,
			record.Record{Method: "GET", Path: "/x", UserAgent: ua}},
		{"CLF", `- - - [01/Dec/2026:23:10:48 +0000] "GET ` + path + ` HTTP/1.1" 200 5`,
			record.Record{Method: "GET", Path: path, Protocol: "HTTP/1.1", Status: 200, ResponseBytes: 5, Time: 1796166648000}},
		{"CSV", "-," + strings.Repeat("x,", maxCSVColumns-4) + "GET," + path,
			record.Record{Method: "GET", Path: path}},
		{"XML", `<request><httpMethod>GET</httpMethod><userAgent>` + ua + `</userAgent><path>` + path + `</path></request>`,
			record.Record{Method: "GET", Path: path, UserAgent: ua}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec record.Record
			if _, err := Parse(tt.line, &rec); err != nil {
				t.Fatal(err)
			}
			if rec != tt.want {
				t.Errorf("got Method %q Path %d bytes UA %d bytes, want %q %d %d",
					rec.Method, len(rec.Path), len(rec.UserAgent), tt.want.Method, len(tt.want.Path), len(tt.want.UserAgent))
			}
		})
	}
	t.Run("CSV method past the columns looked at", func(t *testing.T) {
		_, err := Parse(strings.Repeat("x,", maxCSVColumns)+"GET,/x", new(record.Record))
		if !errors.Is(err, ErrMissingMethod) {
			t.Errorf("got %v, want ErrMissingMethod", err)
		}
	})
}

func TestParseErrorText(t *testing.T) {
	_, err := Parse(`{"httpMethod":"GET",`, new(record.Record))
	got := err.Error()
	for _, want := range []string{"JSON", ErrMalformed.Error(), "unexpected end of line", "offset 20", `"{\"httpMethod\":\"GET\","`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q does not mention %q", got, want)
		}
	}
	_, err = Parse("", new(record.Record))
	if got := err.Error(); got != "accesslog: empty line" {
		t.Errorf("empty line: %q", got)
	}
}
