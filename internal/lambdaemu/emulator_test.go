package lambdaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testBootstrap is testdata/fn built once by TestMain.
var testBootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaemu-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBootstrap = filepath.Join(dir, "bootstrap")
	// TestMain has no test context; the build is bounded by go test's own
	// timeout.
	if _, err := Build(context.Background(), BuildOptions{Dir: "../..", Package: "./internal/lambdaemu/testdata/fn", Output: testBootstrap}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// newEmulator returns an emulator of the test function, closed by a Cleanup.
func newEmulator(t *testing.T, cfg Config) *Emulator {
	t.Helper()
	cfg.Bootstrap = testBootstrap
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func invoke(t *testing.T, e *Emulator, event string) Result {
	t.Helper()
	res, err := e.Invoke(t.Context(), []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	return res
}

func TestInvokeOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		event string
		// want: the error type ("" for success), a fragment of the message
		// or payload, and a fragment of the logs.
		wantType, wantText, wantLog string
		// wantRestart: the process is gone, so the next invocation is cold.
		wantRestart bool
	}{
		{name: "echo", event: `{"action":"echo","message":"hi"}`,
			wantText: `"message":"hi"`, wantLog: "handling echo"},
		{name: "error", event: `{"action":"error","message":"boom"}`,
			wantType: "errorString", wantText: "boom", wantLog: `"errorType":"errorString"`},
		{name: "typed error", event: `{"action":"typed","message":"field x"}`,
			wantType: "validationError", wantText: "invalid field x"},
		{name: "panic", event: `{"action":"panic","message":"kaput"}`,
			wantType: "string", wantText: "kaput", wantLog: "Runtime exited with error: exit status 1\nRuntime.ExitError", wantRestart: true},
		{name: "timeout", cfg: Config{Timeout: time.Second}, event: `{"action":"sleep","sleepMs":5000}`,
			wantType: ErrorTypeTimeout, wantText: "Error: Task timed out after 1.00 seconds", wantLog: "Task timed out after 1.00 seconds", wantRestart: true},
		{name: "exit during invocation", event: `{"action":"exit","code":7}`,
			wantType: ErrorTypeExit, wantText: "Error: Runtime exited with error: exit status 7", wantLog: "exit status 7\nRuntime.ExitError", wantRestart: true},
		{name: "response too large", event: fmt.Sprintf(`{"action":"big","bytes":%d}`, MaxResponseBytes+10),
			// aws-lambda-go exits when its response is refused.
			wantType: ErrorTypeResponseTooLarge, wantText: "(6291556 bytes)", wantLog: "got unexpected status code: 413", wantRestart: true},
		{name: "out of memory", event: `{"action":"alloc","bytes":200000000}`,
			wantType: ErrorTypeOutOfMemory, wantText: "signal: killed", wantLog: "Runtime.OutOfMemory", wantRestart: true},
		{name: "memory limit off", cfg: Config{IgnoreMemoryLimit: true}, event: `{"action":"alloc","bytes":200000000}`,
			wantText: "200000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmulator(t, tt.cfg)
			res := invoke(t, e, tt.event)
			if !res.ColdStart || res.InitDuration <= 0 {
				t.Errorf("first invocation: ColdStart %v, InitDuration %v; want a cold start", res.ColdStart, res.InitDuration)
			}
			switch {
			case tt.wantType == "" && res.FunctionError != nil:
				t.Fatalf("unexpected function error %v\nlogs:\n%s", res.FunctionError, res.Logs)
			case tt.wantType != "" && res.FunctionError == nil:
				t.Fatalf("no function error, want %s; payload %.200s", tt.wantType, res.Payload)
			case tt.wantType != "":
				if res.FunctionError.Type != tt.wantType || res.FunctionError.Phase != PhaseInvoke {
					t.Errorf("error %+v, want type %s in phase invoke", res.FunctionError, tt.wantType)
				}
				if !strings.Contains(res.FunctionError.Message, tt.wantText) {
					t.Errorf("message %q lacks %q", res.FunctionError.Message, tt.wantText)
				}
				var doc struct{ ErrorType, ErrorMessage string }
				if err := json.Unmarshal(res.Payload, &doc); err != nil || doc.ErrorType != tt.wantType {
					t.Errorf("payload %s is not the error document (%v)", res.Payload, err)
				}
			default:
				if !bytes.Contains(res.Payload, []byte(tt.wantText)) {
					t.Errorf("payload %.200s lacks %s", res.Payload, tt.wantText)
				}
			}
			if !bytes.Contains(res.Logs, []byte(tt.wantLog)) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, res.Logs)
			}
			if !bytes.Contains(res.Logs, []byte("init: ready")) {
				t.Errorf("a cold start's logs lack the init output:\n%s", res.Logs)
			}
			if res.MaxMemoryUsed <= 0 || res.Duration <= 0 || res.BilledDuration < res.Duration+res.InitDuration {
				t.Errorf("figures: memory %d, duration %v, billed %v, init %v", res.MaxMemoryUsed, res.Duration, res.BilledDuration, res.InitDuration)
			}

			next := invoke(t, e, `{"action":"echo"}`)
			if next.FunctionError != nil {
				t.Fatalf("the invocation after: %v\n%s", next.FunctionError, next.Logs)
			}
			if next.ColdStart != tt.wantRestart {
				t.Errorf("the invocation after: ColdStart = %v, want %v", next.ColdStart, tt.wantRestart)
			}
			if bytes.Contains(next.Logs, []byte(res.RequestID)) {
				t.Errorf("the next invocation's logs hold the previous one's:\n%s", next.Logs)
			}
		})
	}
}

func TestEnvironmentAndHeaders(t *testing.T) {
	t.Setenv("GWTAP_PARENT_ONLY", "leak")
	dir := t.TempDir()
	e := newEmulator(t, Config{
		Dir: dir, FunctionName: "IngestFunction", MemoryMB: 256, Timeout: 30 * time.Second,
		Region: "eu-west-1", LogFormat: "JSON", LogLevel: "warn",
		Env:         map[string]string{"GWTAP_QUEUE_URL": "http://127.0.0.1:1/q", "TZ": "Europe/Paris"},
		Credentials: Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret", SessionToken: "token"},
	})
	res, err := e.InvokeRequest(t.Context(), Request{
		Payload:         []byte(`{"action":"echo"}`),
		ClientContext:   `{"custom":{"k":"v"}}`,
		CognitoIdentity: `{"cognitoIdentityId":"id-1"}`,
		TraceID:         "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
	})
	if err != nil || res.FunctionError != nil {
		t.Fatalf("%v %v\n%s", err, res.FunctionError, res.Logs)
	}
	var got struct {
		RequestID     string            `json:"requestId"`
		ARN           string            `json:"arn"`
		RemainingMS   int64             `json:"remainingMs"`
		Env           map[string]string `json:"env"`
		Cwd           string            `json:"cwd"`
		ClientContext map[string]string `json:"clientContext"`
		IdentityID    string            `json:"identityId"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "IngestFunction",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_LOG_LEVEL":            "WARN",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/IngestFunction",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        "bootstrap",
		"TZ":                              "Europe/Paris",
		"LANG":                            "en_US.UTF-8",
		"LAMBDA_TASK_ROOT":                dir,
		"GWTAP_QUEUE_URL":                 "http://127.0.0.1:1/q",
		"AWS_ACCESS_KEY_ID":               "AKID",
		"AWS_SECRET_ACCESS_KEY":           "secret",
		"AWS_SESSION_TOKEN":               "token",
		"_X_AMZN_TRACE_ID":                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
	}
	for k, v := range want {
		if got.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, got.Env[k], v)
		}
	}
	for _, k := range []string{"GWTAP_PARENT_ONLY", "HOME"} {
		if _, ok := got.Env[k]; ok {
			t.Errorf("%s leaked from the parent's environment", k)
		}
	}
	if api := got.Env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want 127.0.0.1:PORT", api)
	}
	if !strings.HasPrefix(got.Env["AWS_LAMBDA_LOG_STREAM_NAME"], time.Now().UTC().Format("2006/01/02")+"/[$LATEST]") {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", got.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if got.RequestID != res.RequestID || got.ARN != "arn:aws:lambda:eu-west-1:123456789012:function:IngestFunction" {
		t.Errorf("request id %q (want %q), ARN %q", got.RequestID, res.RequestID, got.ARN)
	}
	if got.RemainingMS <= 29000 || got.RemainingMS > 30000 {
		t.Errorf("the deadline leaves %d ms, want just under 30000", got.RemainingMS)
	}
	if got.Cwd != dir {
		t.Errorf("working directory %q, want the task root %q", got.Cwd, dir)
	}
	if got.ClientContext["k"] != "v" || got.IdentityID != "id-1" {
		t.Errorf("client context %v, identity %q", got.ClientContext, got.IdentityID)
	}
}

func TestWarmInvocationsAndStats(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{})
	var ids []string
	for i := range 3 {
		res := invoke(t, e, `{"action":"echo"}`)
		if res.FunctionError != nil {
			t.Fatal(res.FunctionError)
		}
		if (i == 0) != res.ColdStart || (i == 0) != (res.InitDuration > 0) {
			t.Errorf("invocation %d: ColdStart %v, InitDuration %v", i, res.ColdStart, res.InitDuration)
		}
		if want := "handling echo " + res.RequestID + "\n"; !strings.HasSuffix(string(res.Logs), want) || strings.Count(string(res.Logs), "handling") != 1 {
			t.Errorf("invocation %d logs %q, want only its own line %q", i, res.Logs, want)
		}
		if i > 0 && strings.Contains(res.Report(), "Init Duration") {
			t.Errorf("warm REPORT has an Init Duration: %s", res.Report())
		}
		ids = append(ids, res.RequestID)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("request ids repeat: %v", ids)
	}
	st := e.Stats()
	if st.Invocations != 3 || st.ColdStarts != 1 || st.FirstNext <= 0 || st.PeakRSS <= 0 {
		t.Errorf("stats %+v", st)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	st = e.Stats()
	if st.ExitMaxRSS <= 0 || st.LastExit != "signal: killed" {
		t.Errorf("after Close: ExitMaxRSS %d, LastExit %q; want a SIGKILL (no extension registered)", st.ExitMaxRSS, st.LastExit)
	}
	if _, err := e.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

func TestMaxMemoryUsed(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{})
	small := invoke(t, e, `{"action":"echo"}`)
	big := invoke(t, e, `{"action":"alloc","bytes":60000000}`)
	if big.FunctionError != nil {
		t.Fatal(big.FunctionError)
	}
	if big.MaxMemoryUsed < 60e6 || big.MaxMemoryUsed < small.MaxMemoryUsed || big.MaxMemoryUsed > 128<<20 {
		t.Errorf("MaxMemoryUsed %d after allocating 60 MB (%d before)", big.MaxMemoryUsed, small.MaxMemoryUsed)
	}
	if !strings.Contains(big.Report(), "Max Memory Used: ") || !strings.Contains(big.Report(), "Memory Size: 128 MB") {
		t.Errorf("report %q", big.Report())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.ExitMaxRSS < 60e6 || st.PeakRSS < 60e6 {
		t.Errorf("stats %+v, want peaks over 60 MB", st)
	}
}

func TestInitFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, init, wantType, wantText, wantLog string
		initTimeout                             time.Duration
	}{
		{name: "exits", init: "exit", wantType: ErrorTypeExit, wantText: "Runtime exited with error: exit status 3", wantLog: "init: cannot start"},
		{name: "posts init error", init: "post", wantType: "Runtime.TestInitError", wantText: "bad config", wantLog: "init error posted: 202"},
		{name: "hangs", init: "hang", initTimeout: 300 * time.Millisecond, wantType: ErrorTypeTimeout, wantText: "Init timed out after 0.30 seconds", wantLog: "Status: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmulator(t, Config{Env: map[string]string{"TEST_INIT": tt.init}, InitTimeout: tt.initTimeout})
			for i := range 2 { // every invocation tries init again, as Lambda does
				res := invoke(t, e, `{"action":"echo"}`)
				fe := res.FunctionError
				if fe == nil || fe.Type != tt.wantType || fe.Phase != PhaseInit || !strings.Contains(fe.Message, tt.wantText) {
					t.Fatalf("invocation %d: error %+v, want %s in phase init with %q\n%s", i, fe, tt.wantType, tt.wantText, res.Logs)
				}
				if !res.ColdStart || res.InitDuration <= 0 {
					t.Errorf("ColdStart %v, InitDuration %v", res.ColdStart, res.InitDuration)
				}
				if !bytes.Contains(res.Logs, []byte(tt.wantLog)) || !bytes.Contains(res.Logs, []byte("INIT_REPORT Init Duration: ")) {
					t.Errorf("logs lack %q or INIT_REPORT:\n%s", tt.wantLog, res.Logs)
				}
				var doc struct{ ErrorType string }
				if err := json.Unmarshal(res.Payload, &doc); err != nil || doc.ErrorType != tt.wantType {
					t.Errorf("payload %s (%v)", res.Payload, err)
				}
			}
			if st := e.Stats(); st.ColdStarts != 2 || st.Invocations != 2 {
				t.Errorf("stats %+v", st)
			}
			var ie *InitError
			if err := e.Start(t.Context()); !errors.As(err, &ie) || ie.Err.Type != tt.wantType {
				t.Errorf("Start: %v, want an *InitError of type %s", err, tt.wantType)
			}
		})
	}
}

func TestStartWarmsUp(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.ColdStarts != 1 || st.FirstNext <= 0 {
		t.Errorf("stats after Start %+v", st)
	}
	if res := invoke(t, e, `{"action":"echo"}`); res.ColdStart {
		t.Error("the invocation after Start was a cold start")
	}
}

func TestCloseSendsSIGTERMOnlyWithAnExtension(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sigterm")
	e := newEmulator(t, Config{Env: map[string]string{"TEST_SIGTERM_FILE": file}})
	if res := invoke(t, e, `{"action":"echo"}`); res.FunctionError != nil {
		t.Fatal(res.FunctionError)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "sigterm" {
		t.Errorf("the SIGTERM handler did not run: %q %v", b, err)
	}
}

func TestRuntimeAPIRejectsWrongCalls(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{})
	res := invoke(t, e, `{"action":"api"}`)
	var got map[string]int
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	want := map[string]int{"unknownResponse": 400, "unknownError": 400, "initError": 403}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: status %d, want %d", k, got[k], v)
		}
	}
}

func TestInvokeRejectsBadPayloads(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{})
	if _, err := e.Invoke(t.Context(), []byte("not json")); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("not JSON: %v", err)
	}
	big := append(append([]byte(`"`), bytes.Repeat([]byte("x"), MaxRequestBytes)...), '"')
	if _, err := e.Invoke(t.Context(), big); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if st := e.Stats(); st.ColdStarts != 0 {
		t.Errorf("a refused payload started a process: %+v", st)
	}
}

func TestInvokeStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	e := newEmulator(t, Config{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := e.Invoke(ctx, []byte(`{"action":"sleep","sleepMs":60000}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Invoke took %v after its context ended", d)
	}
	if res := invoke(t, e, `{"action":"echo"}`); !res.ColdStart || res.FunctionError != nil {
		t.Errorf("after a cancelled invocation: cold %v, error %v", res.ColdStart, res.FunctionError)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Bootstrap: filepath.Join(t.TempDir(), "missing"), MemoryMB: 64, Timeout: time.Hour, LogFormat: "XML",
		Env: map[string]string{"AWS_REGION": "x", "A=B": "c"},
	})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"Bootstrap", "MemoryMB 64", "Timeout 1h0m0s", "LogFormat", "AWS_REGION is reserved", `"A=B" is invalid`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestReportLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		res  Result
		want string
	}{
		{Result{RequestID: "r1", Duration: 1234567 * time.Nanosecond, BilledDuration: 42 * time.Millisecond, MemorySizeMB: 128, MaxMemoryUsed: 19<<20 + 1, ColdStart: true, InitDuration: 40120 * time.Microsecond},
			"REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 42 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 40.12 ms"},
		{Result{RequestID: "r2", Duration: time.Second, BilledDuration: time.Second, MemorySizeMB: 128, FunctionError: &FunctionError{Type: ErrorTypeTimeout}},
			"REPORT RequestId: r2\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB\tStatus: timeout"},
		{Result{RequestID: "r3", MemorySizeMB: 128, FunctionError: &FunctionError{Type: ErrorTypeOutOfMemory}},
			"REPORT RequestId: r3\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: Runtime.OutOfMemory"},
		{Result{RequestID: "r4", MemorySizeMB: 128, FunctionError: &FunctionError{Type: "errorString"}},
			"REPORT RequestId: r4\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB"},
	}
	for _, tt := range tests {
		if got := tt.res.Report(); got != tt.want {
			t.Errorf("Report() =\n%q\nwant\n%q", got, tt.want)
		}
	}
	if billed(1234567*time.Nanosecond) != 2*time.Millisecond || billed(2*time.Millisecond) != 2*time.Millisecond {
		t.Error("billed does not round up to the millisecond")
	}
}

func TestLogCaptureKeepsOrderAndLimit(t *testing.T) {
	t.Parallel()
	c, err := newLogCapture(64)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if _, err := c.writer().WriteString("first\n"); err != nil {
		t.Fatal(err)
	}
	if got := string(c.cut()); got != "first\n" {
		t.Errorf("cut = %q", got)
	}
	if got := c.cut(); len(got) != 0 {
		t.Errorf("empty cut = %q", got)
	}
	if _, err := c.writer().WriteString(strings.Repeat("x", 100) + "tail\n"); err != nil {
		t.Fatal(err)
	}
	got := string(c.cut())
	if !strings.HasPrefix(got, "[lambdaemu: ") || !strings.HasSuffix(got, "tail\n") || strings.Contains(got, markerPrefix) {
		t.Errorf("over the limit: %q", got)
	}
}
