package accesslog

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gwtap/gwtap/internal/record"
)

// FuzzParse checks properties that hold for any input:
//
//   - Parse never panics;
//   - a rejected line leaves the record unchanged and yields a *ParseError
//     with one of the documented reasons and a capped excerpt;
//   - an accepted line has a method and a path, keeps the caller's fields,
//     and encodes to valid JSON;
//   - JSON is detected exactly when the line starts with '{';
//   - for JSON that encoding/json accepts, Parse does not call it malformed,
//     and the fields agree with a reference decode into a map wherever one
//     key alone decides the field;
//   - JSON that encoding/json rejects is accepted only if it holds raw
//     control characters, which Parse tolerates inside strings.
//
// The corpus is every testdata line, whole and truncated at several points,
// plus the reject cases' kind of input.
func FuzzParse(f *testing.F) {
	for _, l := range allTestLines(f) {
		f.Add(l.text)
		for _, frac := range []int{1, 3, 5, 7} {
			f.Add(l.text[:len(l.text)*frac/8])
		}
		f.Add(l.text[:len(l.text)-1])
	}
	for _, s := range []string{
		"", " ", "{}", "<request/>", "[", "a,b", `{"status":{}}`, `{"x":[[[[]]]]}`,
		`{"error":{"message":"m"},"httpMethod":"GET","path":"/x"}`, `"\ud800"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		caller := record.Record{
			ID: "prev-id", AppID: "app", EventTime: 42, Method: "PREV", Path: "/prev", Status: 999,
			LogGroup: "group", LogStream: "stream", Account: "123456789012",
		}
		rec := caller
		format, err := Parse(line, &rec)

		start := skipSpace(line, 0)
		if start < len(line) && (line[start] == '{') != (format == FormatJSON) {
			t.Fatalf("format %v for a line starting with %q", format, line[start])
		}
		if err != nil {
			checkRejected(t, line, format, err, rec, caller)
			return
		}
		if rec.Method == "" || rec.Path == "" {
			t.Fatalf("accepted without method and path: %+v", rec)
		}
		if rec.AppID != caller.AppID || rec.EventTime != caller.EventTime || rec.LogGroup != caller.LogGroup ||
			rec.LogStream != caller.LogStream || rec.Account != caller.Account {
			t.Fatalf("caller's fields changed: %+v", rec)
		}
		if b := rec.AppendJSON(nil); !json.Valid(b) {
			t.Fatalf("record encodes to invalid JSON: %s", b)
		}
		if format != FormatJSON {
			return
		}
		if !json.Valid([]byte(line)) {
			if !hasControlByte(line) {
				t.Fatalf("accepted JSON that encoding/json rejects: %q", line)
			}
			return
		}
		compareWithStdlib(t, line, &rec)
	})
}

func checkRejected(t *testing.T, line string, format Format, err error, rec, caller record.Record) {
	t.Helper()
	if rec != caller {
		t.Fatalf("record changed on error %v: %+v", err, rec)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *ParseError: %v", err, err)
	}
	known := false
	for _, reason := range []error{ErrEmpty, ErrUnknownFormat, ErrMalformed, ErrInvalidValue, ErrMissingMethod, ErrMissingPath} {
		known = known || pe.Reason == reason
	}
	if !known || pe.Format != format {
		t.Fatalf("ParseError{Format: %v, Reason: %v} for format %v", pe.Format, pe.Reason, format)
	}
	if pe.Offset < -1 || pe.Offset > len(line) {
		t.Fatalf("offset %d out of a %d-byte line", pe.Offset, len(line))
	}
	if len(pe.Excerpt) > maxExcerpt+2*len("…") {
		t.Fatalf("excerpt of %d bytes", len(pe.Excerpt))
	}
	if utf8.ValidString(line) && !utf8.ValidString(pe.Excerpt) {
		t.Fatalf("excerpt cut a rune: %q", pe.Excerpt)
	}
	if format == FormatJSON && errors.Is(err, ErrMalformed) && json.Valid([]byte(line)) &&
		strings.Count(line, "[")+strings.Count(line, "{") < maxDepth {
		t.Fatalf("valid JSON called malformed: %v", err)
	}
}

// hasControlByte reports whether s has a byte below 0x20: encoding/json
// rejects them inside strings, where Parse lets them pass.
func hasControlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

// refKeys is the reference spelling table, written out independently of
// lookupNormalized: normalized key → the field it fills.
var refKeys = map[string]string{
	"requestid": "id", "extendedrequestid": "extid",
	"httpmethod": "method", "method": "method", "requestmethod": "method",
	"path": "path", "requestpath": "path",
	"resourcepath": "resourcepath", "routekey": "routekey", "route": "routekey",
	"protocol": "protocol", "proto": "protocol",
	"stage": "stage", "stagename": "stage",
	"apiid":      "apiid",
	"domainname": "host", "domain": "host", "host": "host",
	"sourceip": "ip", "ip": "ip", "identitysourceip": "ip", "clientip": "ip",
	"useragent": "ua", "identityuseragent": "ua",
	"errormessage": "error", "error": "error", "errormessagestring": "error",
	"integrationerrormessage": "interror", "integrationerror": "interror",
	"responsetype": "resptype", "errorresponsetype": "resptype",
	"requesttime": "time", "requesttimeepoch": "epoch",
	"status": "status", "statuscode": "status", "httpstatus": "status",
	"integrationstatus": "intstatus", "integrationintegrationstatus": "intstatus",
	"responselength": "length", "responsebytes": "length",
	"responselatency": "latency", "latency": "latency",
	"integrationlatency": "intlatency",
}

var refNormalizer = strings.NewReplacer("_", "", "-", "", ".", "", " ", "")

func refNormalize(k string) string {
	lower := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, k)
	return refNormalizer.Replace(lower)
}

// plainNumber is the shape of numeric values the reference interprets
// itself; others (exponents, huge values) are left to the unit tests.
var plainNumber = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]+)?$`)

// compareWithStdlib decodes line with encoding/json into a map, applies the
// documented key rules independently, and checks every field for which
// exactly one key in the line decides the value.
func compareWithStdlib(t *testing.T, line string, rec *record.Record) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber() // keeps number literals as written, like Parse does
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	values := map[string][]any{} // field → values of the keys that name it
	add := func(key string, v any) {
		if f, ok := refKeys[key]; ok {
			values[f] = append(values[f], v)
		}
	}
	for k, v := range m {
		nk := refNormalize(k)
		if obj, ok := v.(map[string]any); ok && (nk == "error" || nk == "identity" || nk == "integration") {
			for k2, v2 := range obj {
				add(nk+refNormalize(k2), v2)
			}
			continue
		}
		add(nk, v)
	}
	// str returns the single string value of field f.
	str := func(f string) (string, bool) {
		vs := values[f]
		switch {
		case len(vs) == 0:
			return "", true
		case len(vs) > 1:
			return "", false
		}
		switch v := vs[0].(type) {
		case nil:
			return "", true
		case string:
			if v == "-" {
				return "", true
			}
			return v, true
		case json.Number:
			return v.String(), true
		}
		return "", false
	}
	num := func(f string) (int64, bool) {
		s, ok := str(f)
		if !ok || s == "" {
			return 0, ok
		}
		if !plainNumber.MatchString(s) {
			return 0, false
		}
		intPart, _, _ := strings.Cut(s, ".")
		n, ok := parseNumber(intPart)
		return n, ok
	}
	checkStr := func(name, f, got string) {
		if want, ok := str(f); ok && fixUTF8(got) != want {
			t.Errorf("%s = %q, encoding/json says %q", name, got, want)
		}
	}
	checkNum := func(name, f string, got int64) {
		if want, ok := num(f); ok && got != want {
			t.Errorf("%s = %d, encoding/json says %d", name, got, want)
		}
	}

	if id, ok := str("id"); ok && id != "" {
		checkStr("ID", "id", rec.ID)
	}
	if m, ok := str("method"); ok && m != "" {
		if strings.ContainsAny(m, "abcdefghijklmnopqrstuvwxyz") {
			m = strings.ToUpper(m)
		}
		if fixUTF8(rec.Method) != m {
			t.Errorf("Method = %q, encoding/json says %q", rec.Method, m)
		}
	}
	if host, ok := str("host"); ok && !strings.Contains(strings.ToLower(host), "execute-api") {
		if p, ok := str("path"); ok && p != "" {
			p, _, _ = strings.Cut(p, "?")
			if p != "" && fixUTF8(rec.Path) != p {
				t.Errorf("Path = %q, encoding/json says %q", rec.Path, p)
			}
		}
	}
	if rp, ok := str("resourcepath"); ok && rp != "" && !strings.Contains(rp, "+}") {
		checkStr("Template", "resourcepath", rec.Template)
	}
	if apiID, ok := str("apiid"); ok && apiID != "" {
		checkStr("APIID", "apiid", rec.APIID)
	}
	checkStr("Host", "host", rec.Host)
	checkStr("Protocol", "protocol", rec.Protocol)
	checkStr("Stage", "stage", rec.Stage)
	checkStr("SourceIP", "ip", rec.SourceIP)
	checkStr("UserAgent", "ua", rec.UserAgent)
	checkStr("Error", "error", rec.Error)
	checkStr("IntegrationError", "interror", rec.IntegrationError)
	checkStr("ResponseType", "resptype", rec.ResponseType)
	checkNum("Status", "status", int64(rec.Status))
	checkNum("IntegrationStatus", "intstatus", int64(rec.IntegrationStatus))
	checkNum("ResponseBytes", "length", rec.ResponseBytes)
	checkNum("LatencyMs", "latency", rec.LatencyMs)
	checkNum("IntegrationLatency", "intlatency", rec.IntegrationLatency)
	if e, ok := str("epoch"); ok && len(e) >= 12 && len(e) <= 15 && strings.Trim(e, "0123456789") == "" {
		checkNum("Time", "epoch", rec.Time)
	}
}

// fixUTF8 replaces each invalid byte with U+FFFD, as encoding/json does
// when it decodes a string (and as the record encoder does).
func fixUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
