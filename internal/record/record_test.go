package record

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"empty", Record{}},
		{"id only", Record{ID: "a"}},
		{"full", Record{
			ID: "c6f1a1e4-9b1c-4d1f-8a55-2f4c1b2a7e10", AppID: "-1", Time: 1764630648123, EventTime: 1764630649000,
			Method: "GET", Host: "api.example.com", Path: "/users/42", Template: "/users/{id}", Protocol: "HTTP/1.1",
			Stage: "prod", APIID: "a1b2c3", Status: 200, IntegrationStatus: 200, ResponseBytes: 1234, LatencyMs: 35,
			IntegrationLatency: 30, SourceIP: "203.0.113.7", UserAgent: "curl/8.5.0", Error: "", IntegrationError: "",
			ResponseType: "", LogGroup: "/aws/apigateway/x", LogStream: "s", Account: "123456789012",
		}},
		{"escapes", Record{ID: "q\"\\\n\r\t\x01\x1f", Path: "/<script>alert(1)</script>&x", UserAgent: "\u2028\u2029é漢字"}},
		{"negative numbers", Record{ID: "n", Status: -1, LatencyMs: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.rec.AppendJSON(nil)
			var got Record
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, b)
			}
			if got != tt.rec {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.rec)
			}
			want, err := json.Marshal(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			// encoding/json escapes the same characters, so outputs match byte for byte.
			if string(b) != string(want) {
				t.Errorf("differs from encoding/json:\n got %s\nwant %s", b, want)
			}
		})
	}
}

func TestAppendJSONInvalidUTF8(t *testing.T) {
	r := Record{ID: "x", UserAgent: "ok\xff\xfe end", Path: "/\xc3"}
	b := r.AppendJSON(nil)
	var got Record
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid UTF-8 produced invalid JSON: %v\n%s", err, b)
	}
	if got.UserAgent != "ok\ufffd\ufffd end" || got.Path != "/\ufffd" {
		t.Errorf("got %q %q", got.UserAgent, got.Path)
	}
	if strings.Contains(string(b), "\xff") {
		t.Error("raw invalid byte leaked into output")
	}
}

func TestFallbackIDStable(t *testing.T) {
	a := FallbackID("g", "s", "1")
	if a != FallbackID("g", "s", "1") {
		t.Fatal("not stable")
	}
	for _, other := range []string{FallbackID("g", "s", "2"), FallbackID("gs", "", "1"), FallbackID("g", "s1", "")} {
		if other == a {
			t.Errorf("collision: %s", other)
		}
	}
	if !strings.HasPrefix(a, "cw-") || len(a) != 35 {
		t.Errorf("unexpected shape %q", a)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "/a/b", "ua", int64(3))
	f.Add("\xff", "\u2028", "<>&\"\\", int64(-1))
	f.Fuzz(func(t *testing.T, id, path, ua string, n int64) {
		r := Record{ID: id, Path: path, UserAgent: ua, LatencyMs: n}
		b := r.AppendJSON(nil)
		var got Record
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("invalid JSON for %q: %v", b, err)
		}
		want, _ := json.Marshal(r)
		if string(want) != string(b) {
			t.Fatalf("differs from encoding/json:\n got %s\nwant %s", b, want)
		}
	})
}
