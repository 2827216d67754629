package node

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gwtap/gwtap/internal/record"
)

// decodeBoth decodes line with decodeFast and with encoding/json. When the
// fast path takes a line, encoding/json must take it too and agree.
func decodeBoth(t *testing.T, line string) (fast bool) {
	t.Helper()
	var got, want record.Record
	fast = decodeFast([]byte(line), &got)
	err := json.Unmarshal([]byte(line), &want)
	if fast {
		if err != nil {
			t.Fatalf("fast path took %q, encoding/json says %v", line, err)
		}
		if got != want {
			t.Fatalf("decodings of %q differ:\n fast %+v\n json %+v", line, got, want)
		}
	}
	return fast
}

func TestDecodeFastAgreesWithEncodingJSON(t *testing.T) {
	recs := synthRecords(50, 9)
	tests := []struct {
		name string
		line string
		fast bool // whether the fast path should take it
	}{
		{"empty object", `{}`, true},
		{"spaces", " { \"id\" : \"a\" ,\t\"status\" :200 } \r", true},
		{"all fields", string(recs[0].AppendJSON(nil)), true},
		{"escapes", `{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00"}`, true},
		{"lone surrogate", `{"id":"\ud800x"}`, true},
		{"reversed surrogates", `{"id":"\udc00\ud800"}`, true},
		{"nulls", `{"id":null,"status":null,"ts":null}`, true},
		{"unknown scalar keys", `{"id":"a","future":1.5e-3,"flag":true,"none":null,"s":"x\"y","neg":-0}`, true},
		{"duplicate key: last wins", `{"id":"a","id":"b"}`, true},
		{"negative and zero", `{"ts":-1,"status":0,"latency_ms":-0}`, true},
		{"max int64", `{"ts":9223372036854775807}`, true},
		{"raw non-ASCII", `{"user_agent":"Mozilla/5.0 (日本語) ✓"}`, true},
		{"key in other case", `{"ID":"a"}`, false},
		{"key with the long s", "{\"\u017fource_ip\":\"x\"}", false},
		{"key with long s inside", "{\"\u017ftage\":\"x\"}", false},
		{"nested unknown value", `{"id":"a","extra":{"k":[1,2]}}`, false},
		{"float for an integer", `{"status":200.0}`, false},
		{"exponent for an integer", `{"status":2e2}`, false},
		{"integer overflow", `{"ts":9223372036854775808}`, false},
		{"number for a string", `{"id":5}`, false},
		{"string for a number", `{"status":"200"}`, false},
		{"leading zero", `{"status":0200}`, false},
		{"bad number in an unknown key", `{"x":01}`, false},
		{"bad exponent", `{"x":1e}`, false},
		{"trailing comma", `{"id":"a",}`, false},
		{"missing colon", `{"id" "a"}`, false},
		{"trailing data", `{"id":"a"}x`, false},
		{"two objects", `{"id":"a"}{"id":"b"}`, false},
		{"unterminated string", `{"id":"a`, false},
		{"raw control character", "{\"id\":\"a\x01\"}", false},
		{"bad escape", `{"id":"\x"}`, false},
		{"short unicode escape", `{"id":"\u12"}`, false},
		{"array", `[1]`, false},
		{"true for a string", `{"id":true}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fast := decodeBoth(t, tt.line); fast != tt.fast {
				t.Errorf("fast path took it: %v, want %v", fast, tt.fast)
			}
		})
	}
	for i := range recs {
		if !decodeBoth(t, string(recs[i].AppendJSON(nil))) {
			t.Errorf("fast path refused record %d", i)
		}
	}
}

func TestDecodeRecordFallsBackForErrors(t *testing.T) {
	// The same verdict whichever path decodes: a key in another case is
	// matched by encoding/json.
	rec, reason, _ := decodeRecord([]byte(`{"ID":"a","Method":"GET","PATH":"/x"}`), recentMs)
	if reason != "" || rec.ID != "a" || rec.Method != "GET" || rec.Path != "/x" {
		t.Errorf("got %+v, %q", rec, reason)
	}
	if _, reason, _ := decodeRecord([]byte(`{"id":"a","method":"GET","path":"/x","extra":{"deep":[1]}}`), recentMs); reason != "" {
		t.Errorf("nested unknown value rejected: %s", reason)
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, r := range synthRecords(5, 11) {
		f.Add(string(r.AppendJSON(nil)))
	}
	f.Add(`{"id":"\ud83d\ude00","status":-0,"x":[1]}`)
	f.Add(`{"Id":"a","ts":1e3}`)
	f.Fuzz(func(t *testing.T, line string) {
		// The handler rejects invalid UTF-8 before decoding.
		if !strings.HasPrefix(line, "{") || !utf8.ValidString(line) {
			return
		}
		decodeBoth(t, line)
	})
}
