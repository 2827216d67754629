package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/protocol"
)

func TestParseNodeFlags(t *testing.T) {
	def := discovery.DefaultConfig()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, o nodeOptions)
	}{
		{"defaults", nil, nil, func(t *testing.T, o nodeOptions) {
			if o.addr != "127.0.0.1:8080" || o.data != ".gwtap/node.db" || o.token != "" || !reflect.DeepEqual(o.disc, def) {
				t.Errorf("got %+v", o)
			}
		}},
		{"environment", nil, map[string]string{EnvNodeAddr: ":9000", EnvNodeData: "/var/lib/gwtap", EnvNodeToken: "t0k",
			EnvNodeMinRequests: "5", EnvNodeStatusClasses: "2xx, 3XX"}, func(t *testing.T, o nodeOptions) {
			if o.addr != ":9000" || o.data != "/var/lib/gwtap" || o.token != "t0k" || o.cfg.Token != "t0k" ||
				o.disc.MinRequests != 5 || !reflect.DeepEqual(o.disc.CountStatusClasses, []int{2, 3}) {
				t.Errorf("got %+v", o)
			}
		}},
		{"flags over environment", []string{"-addr", "localhost:1", "-token", "flag", "-min-requests", "9", "-status-classes", "4",
			"-min-span", "1h", "-skip-methods", "options,trace", "-skip-loopback=false", "-max-examples", "2", "-read-timeout", "5s"},
			map[string]string{EnvNodeAddr: ":9000", EnvNodeToken: "env", EnvNodeMinRequests: "5"}, func(t *testing.T, o nodeOptions) {
				want := discovery.Config{CountStatusClasses: []int{4}, SkipMethods: []string{"OPTIONS", "TRACE"}, SkipLoopback: false,
					MinRequests: 9, MinSpan: time.Hour, MaxExamples: 2}
				if o.addr != "localhost:1" || o.token != "flag" || !reflect.DeepEqual(o.disc, want) || o.cfg.ReadTimeout != 5*time.Second {
					t.Errorf("got %+v", o)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, help, err := parseNodeFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil || help {
				t.Fatalf("err %v help %v", err, help)
			}
			tt.check(t, o)
		})
	}
}

func TestParseNodeFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // every problem is reported
	}{
		{"environment", nil, map[string]string{EnvNodeMinRequests: "many", EnvNodeStatusClasses: "9xx"}, []string{EnvNodeMinRequests, "9xx"}},
		{"values", []string{"-addr", "nohost", "-min-requests", "0", "-read-timeout", "0s", "-data", ""}, nil,
			[]string{"-addr", "MinRequests", "-read-timeout", "-data"}},
		{"empty classes", []string{"-status-classes", " , "}, nil, []string{"-status-classes is empty"}},
		{"arguments", []string{"extra"}, nil, []string{"unexpected arguments"}},
		{"unknown flag", []string{"-nope"}, nil, []string{"nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseNodeFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("got %v, want ErrUsage", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}
	var usage bytes.Buffer
	env := map[string]string{EnvNodeToken: "very-secret"}
	if _, help, err := parseNodeFlags([]string{"-h"}, func(k string) string { return env[k] }, &usage); !help || err != nil {
		t.Errorf("-h: help %v err %v", help, err)
	}
	if strings.Contains(usage.String(), "very-secret") {
		t.Error("-h shows the token from the environment")
	}
}

func TestDBPath(t *testing.T) {
	dir := t.TempDir()
	for in, want := range map[string]string{
		dir:                         filepath.Join(dir, "node.db"),
		"some/dir/":                 "some/dir/node.db",
		filepath.Join(dir, "x.db"):  filepath.Join(dir, "x.db"),
		".gwtap/node.db":            ".gwtap/node.db",
		filepath.Join(dir, "new.d"): filepath.Join(dir, "new.d"),
	} {
		if got := dbPath(in); got != want {
			t.Errorf("dbPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe to read while the command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNodeCommand runs `gwtap node` on a free port, sends it a batch, and
// stops it as SIGTERM would; a second run finds the records.
func TestNodeCommand(t *testing.T) {
	data := t.TempDir()
	start := func(t *testing.T) (string, context.CancelFunc, chan error, *lockedBuffer) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		var out, errOut lockedBuffer
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, []string{"node", "-addr", "127.0.0.1:0", "-data", data, "-token", "s3cret", "-min-requests", "1"}, &out, &errOut)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, rest, ok := strings.Cut(out.String(), "gwtap node on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				return strings.TrimSuffix(url, "/"), cancel, done, &out
			}
			select {
			case err := <-done:
				t.Fatalf("node exited: %v\n%s%s", err, out.String(), errOut.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("node did not start: %s%s", out.String(), errOut.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	do := func(t *testing.T, method, url, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set(protocol.HeaderAuthorization, "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	ts := time.Now().Add(-time.Minute).UnixMilli()
	body := ""
	for _, id := range []string{"r1", "r2", "r3"} {
		body += `{"id":"` + id + `","method":"GET","host":"api.example.com","path":"/things/42","status":200,"ts":` + strconv.FormatInt(ts, 10) + "}\n"
	}

	url, stop, done, out := start(t)
	if status, _ := do(t, http.MethodPost, url+protocol.RecordsPath, "", body); status != http.StatusUnauthorized {
		t.Errorf("without the token: %d", status)
	}
	if status, resp := do(t, http.MethodPost, url+protocol.RecordsPath, "s3cret", body); status != http.StatusOK || !strings.Contains(resp, `"accepted":3`) {
		t.Fatalf("POST: %d %s", status, resp)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("node: %v", err)
	}
	if !strings.Contains(out.String(), "gwtap node stopped") {
		t.Errorf("output: %s", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "node.db")); err != nil {
		t.Errorf("no database in the -data directory: %v", err)
	}

	url, stop, done, out = start(t)
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
	}()
	if !strings.Contains(out.String(), "3 records") {
		t.Errorf("restart output: %s", out.String())
	}
	if status, health := do(t, http.MethodGet, url+protocol.HealthPath, "", ""); status != http.StatusOK || !strings.Contains(health, `"records":3`) {
		t.Errorf("health after restart: %d %s", status, health)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, inv := do(t, http.MethodGet, url+"/v1/inventory", "", "")
		if strings.Contains(inv, `"template":"/things/{`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventory not rebuilt: %s", inv)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
