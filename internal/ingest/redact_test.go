package ingest

import (
	"strings"
	"testing"
)

func TestRedaction(t *testing.T) {
	line := `{"requestId":"r1","httpMethod":"GET","path":"/p","sourceIp":"203.0.113.7","userAgent":"curl/8.5.0"}`
	other := `{"requestId":"r2","httpMethod":"GET","path":"/p","sourceIp":"203.0.113.8","userAgent":"curl/8.5.0"}`
	key := "0123456789abcdef-secret"
	tests := []struct {
		name       string
		env        map[string]string
		wantIP     func(string) bool
		wantUA     func(string) bool
		sameTokens bool // r1 and r2 share the user agent: hashed tokens must match
	}{
		{"keep by default", nil, eq("203.0.113.7"), eq("curl/8.5.0"), false},
		{"drop both", map[string]string{EnvRedactSourceIP: "drop", EnvRedactUserAgent: "drop"}, eq(""), eq(""), false},
		{"hash ip, keep agent", map[string]string{EnvRedactSourceIP: "hash", EnvRedactKey: key}, hashed, eq("curl/8.5.0"), false},
		{"hash both", map[string]string{EnvRedactSourceIP: "hash", EnvRedactUserAgent: "hash", EnvRedactKey: key}, hashed, hashed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{EnvAppID: "7", EnvQueueURL: testQueueURL}
			for k, v := range tt.env {
				m[k] = v
			}
			cfg, err := LoadConfig(env(m))
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPipeline(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Build(payload(t, line, other))
			if err != nil {
				t.Fatal(err)
			}
			recs := openAll(t, bodies(b.Messages))
			if !tt.wantIP(recs[0].SourceIP) || !tt.wantUA(recs[0].UserAgent) {
				t.Errorf("got ip %q ua %q", recs[0].SourceIP, recs[0].UserAgent)
			}
			if strings.Contains(recs[0].SourceIP, "203.0.113") && tt.env[EnvRedactSourceIP] != "" {
				t.Error("the address left the account")
			}
			if tt.sameTokens && (recs[0].UserAgent != recs[1].UserAgent || recs[0].SourceIP == recs[1].SourceIP) {
				t.Errorf("tokens: same client must map to the same token, different ones apart: %+v", recs)
			}
		})
	}
}

func TestRedactionKeyMatters(t *testing.T) {
	tokens := map[string]bool{}
	for _, key := range []string{"0123456789abcdef-one", "0123456789abcdef-two"} {
		cfg, err := LoadConfig(env(map[string]string{EnvAppID: "7", EnvQueueURL: testQueueURL, EnvRedactSourceIP: "hash", EnvRedactKey: key}))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := NewPipeline(cfg)
		b, err := p.Build(payload(t, `{"requestId":"r1","httpMethod":"GET","path":"/p","sourceIp":"203.0.113.7"}`))
		if err != nil {
			t.Fatal(err)
		}
		tokens[openAll(t, bodies(b.Messages))[0].SourceIP] = true
	}
	if len(tokens) != 2 {
		t.Errorf("two keys gave the same token: %v", tokens)
	}
}

func TestRedactionConfigErrors(t *testing.T) {
	tests := []map[string]string{
		{EnvRedactSourceIP: "mask"},
		{EnvRedactUserAgent: "hash"},                                   // no key
		{EnvRedactSourceIP: "hash", EnvRedactKey: "short"},             // key too short
		{EnvRedactUserAgent: "HASH", EnvRedactKey: "0123456789abcdef"}, // modes are lower case
	}
	for _, extra := range tests {
		m := map[string]string{EnvAppID: "7", EnvQueueURL: testQueueURL}
		for k, v := range extra {
			m[k] = v
		}
		if _, err := LoadConfig(env(m)); err == nil {
			t.Errorf("accepted %v", extra)
		}
	}
}

func eq(want string) func(string) bool { return func(got string) bool { return got == want } }

func hashed(v string) bool { return strings.HasPrefix(v, "h:") && len(v) == 2+24 }
