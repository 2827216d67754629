package collector

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	valid := map[string]string{EnvNodeURL: "node.example.com", EnvAppID: "-1"}
	c, err := LoadConfig(env(valid))
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheme != "https" || c.BaseURL() != "https://node.example.com" || c.Timeout != DefaultTimeout ||
		c.ConnectTimeout != DefaultConnectTimeout || c.Attempts != DefaultAttempts || c.BreakerThreshold != DefaultBreakerThreshold ||
		c.Retry.Base == 0 || c.Retry.Max != 5*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	good := []map[string]string{
		with(EnvNodeURL, "192.0.2.1:5050", EnvNodeScheme, "http"),
		with(EnvNodeURL, "[2001:db8::1]:8443"),
		with(EnvNodeScheme, "HTTPS"),
		with(EnvToken, "abc.DEF-123_~+/="),
		with(EnvTokenSecretARN, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gwtap-node-AbCdEf"),
		with(EnvTokenParameter, "/gwtap/node-token"),
		with(EnvTokenParameter, "arn:aws:ssm:eu-west-1:123456789012:parameter/gwtap/node-token"),
		with(EnvCAFile, "/var/task/ca.pem"),
		with(EnvTimeout, "250ms", EnvConnectTimeout, "1s", EnvAttempts, "1", EnvBreakerThreshold, "1", EnvMaxWait, "30s"),
	}
	for _, m := range good {
		if _, err := LoadConfig(env(m)); err != nil {
			t.Errorf("%v: %v", m, err)
		}
	}

	tests := []struct {
		name string
		env  map[string]string
		want []string // every problem, each named in the one error
	}{
		{"nothing set", map[string]string{}, []string{EnvNodeURL, EnvAppID}},
		{"scheme in the url", with(EnvNodeURL, "https://node.example.com"), []string{EnvNodeURL}},
		{"path in the url", with(EnvNodeURL, "node.example.com/v1"), []string{EnvNodeURL}},
		{"credentials in the url", with(EnvNodeURL, "user:pw@node.example.com"), []string{EnvNodeURL}},
		{"port out of range", with(EnvNodeURL, "node.example.com:70000"), []string{EnvNodeURL}},
		{"empty port", with(EnvNodeURL, "node.example.com:"), []string{EnvNodeURL}},
		{"bracketed non-IP", with(EnvNodeURL, "[node]:80"), []string{EnvNodeURL}},
		{"unknown scheme", with(EnvNodeScheme, "ftp"), []string{EnvNodeScheme}},
		{"app id not a number", with(EnvAppID, "shop"), []string{EnvAppID}},
		{"two token sources", with(EnvToken, "t", EnvTokenParameter, "/p"), []string{EnvToken}},
		{"token with a space", with(EnvToken, "bad token"), []string{EnvToken}},
		{"token with a newline", with(EnvToken, "a\r\nX-Evil: 1"), []string{EnvToken}},
		{"not a secret ARN", with(EnvTokenSecretARN, "gwtap-node"), []string{EnvTokenSecretARN}},
		{"ssm ARN for secret", with(EnvTokenSecretARN, "arn:aws:ssm:eu-west-1:1:parameter/x"), []string{EnvTokenSecretARN}},
		{"parameter with spaces", with(EnvTokenParameter, "my token"), []string{EnvTokenParameter}},
		{"CA file over http", with(EnvCAFile, "/ca.pem", EnvNodeScheme, "http"), []string{EnvCAFile}},
		{"timeout not a duration", with(EnvTimeout, "10"), []string{EnvTimeout}},
		{"connect timeout too long", with(EnvConnectTimeout, "2m"), []string{EnvConnectTimeout}},
		{"attempts zero", with(EnvAttempts, "0"), []string{EnvAttempts}},
		{"breaker not a number", with(EnvBreakerThreshold, "five"), []string{EnvBreakerThreshold}},
		{"max wait too short", with(EnvMaxWait, "1ms"), []string{EnvMaxWait}},
		{"all at once", map[string]string{EnvNodeScheme: "gopher", EnvTimeout: "x", EnvAttempts: "99"},
			[]string{EnvNodeURL, EnvAppID, EnvNodeScheme, EnvTimeout, EnvAttempts}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(env(tt.env))
			if err == nil {
				t.Fatal("accepted")
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(tt.want) {
				t.Errorf("want %d problems, got: %v", len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s: %v", w, err)
				}
			}
		})
	}
}

// TestSecretNeverPrinted checks the token cannot leak through fmt or slog,
// including inside a Config, and that a bad token is refused without being
// echoed in the error.
func TestSecretNeverPrinted(t *testing.T) {
	const token = "s3cr3t-t0ken"
	c, err := LoadConfig(env(map[string]string{EnvNodeURL: "n", EnvAppID: "1", EnvToken: token}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("config", "token", c.Token, "config", c)
	out := fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c.Token, c.Token) + logs.String()
	if strings.Contains(out, token) {
		t.Fatalf("token printed: %s", out)
	}
	if !strings.Contains(out, "[redacted]") {
		t.Errorf("no redaction marker in %s", out)
	}
	_, err = LoadConfig(env(map[string]string{EnvNodeURL: "n", EnvAppID: "1", EnvToken: token + " x"}))
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("bad token error %v", err)
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print empty, so 'no token' stays visible")
	}
}
