package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/lambdaemu"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/samtemplate"
	"github.com/gwtap/gwtap/internal/synth"
)

// startSession starts an invoke session from the repository root, skipping
// the test when the SQS stand-in is not installed (failing it under CI).
func startSession(t *testing.T, o invokeOptions) *invokeSession {
	t.Helper()
	o.root = "../.."
	if o.buildDir == "" && o.bootstrap == "" {
		o.buildDir = t.TempDir()
	}
	s, err := newInvokeSession(t.Context(), o)
	switch {
	case errors.Is(err, localsqs.ErrNotInstalled) && os.Getenv("CI") != "":
		t.Fatalf("CI must install the SQS stand-in: %v", err)
	case errors.Is(err, localsqs.ErrNotInstalled):
		t.Skipf("skipping: needs the SQS stand-in: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// subscription decodes a subscription event's payload.
func subscription(t *testing.T, raw []byte) *cwlogs.Payload {
	t.Helper()
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	p, err := cwlogs.NewDecoder(cwlogs.Limits{}).Decode(ev.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func trafficDelta(t *testing.T, deltas []queueDelta) queueDelta {
	t.Helper()
	for _, d := range deltas {
		if d.queue.logicalID == "TrafficQueue" {
			return d
		}
	}
	t.Fatalf("no TrafficQueue among %+v", deltas)
	return queueDelta{}
}

// TestInvokeIngest runs the real ingest bootstrap, built as the Makefile
// builds it, on every committed event and on a ~1 MB compressed payload,
// in one warm execution environment against the local SQS.
func TestInvokeIngest(t *testing.T) {
	s := startSession(t, invokeOptions{function: "ingest"})
	if s.fn.logicalID != "IngestFunction" || s.fn.memoryMB != 128 || s.fn.timeout != 30*time.Second || s.fn.logFormat != "JSON" {
		t.Errorf("function %+v, want IngestFunction at 128 MB, 30 s, JSON logs", s.fn)
	}
	if !strings.HasSuffix(s.fn.env["GWTAP_QUEUE_URL"], "/gwtap-traffic") || s.fn.env["X_WALLARM_APPLICATION_ID"] != "-1" ||
		s.fn.env["GWTAP_MAX_MESSAGE_BYTES"] != "262144" || s.fn.env["AWS_ENDPOINT_URL_SQS"] != s.sqs.Endpoint() {
		t.Errorf("environment %v", s.fn.env)
	}

	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) < 9 {
		t.Fatalf("events: %v %v", files, err)
	}
	for i, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sub := subscription(t, raw)
			res, deltas, err := s.invoke(t.Context(), raw)
			if err != nil {
				t.Fatal(err)
			}
			if res.FunctionError != nil {
				t.Fatalf("%v\n%s", res.FunctionError, res.Logs)
			}
			if (i == 0) != res.ColdStart {
				t.Errorf("ColdStart = %v on invocation %d", res.ColdStart, i)
			}
			if res.MaxMemoryUsed <= 0 || res.MaxMemoryUsed > 128<<20 {
				t.Errorf("Max Memory Used %d bytes", res.MaxMemoryUsed)
			}
			tq := trafficDelta(t, deltas)
			switch {
			case sub.MessageType == cwlogs.ControlMessage:
				if tq.messages != 0 {
					t.Errorf("a control message enqueued %d messages", tq.messages)
				}
			case strings.Contains(f, "unparseable"):
				if tq.records == 0 || tq.records >= len(sub.LogEvents) {
					t.Errorf("%d records from %d lines, some unparseable", tq.records, len(sub.LogEvents))
				}
			default:
				if tq.records != len(sub.LogEvents) || tq.envelopes != tq.messages || tq.messages == 0 {
					t.Errorf("%d records in %d messages (%d envelopes) from %d lines", tq.records, tq.messages, tq.envelopes, len(sub.LogEvents))
				}
			}
			t.Logf("%s; %d records", res.Report(), tq.records)
		})
	}

}

// TestInvokeWiring checks what a function gets from the template, the
// overrides and the local queues, without running it.
func TestInvokeWiring(t *testing.T) {
	envVars := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(envVars, []byte(`{"IngestFunction": {"X_WALLARM_APPLICATION_ID": "42", "GWTAP_SEND_ATTEMPTS": "2"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := startSession(t, invokeOptions{
		function: "IngestFunction", stackName: "wiring", bootstrap: exe, envVarsFile: envVars,
		overrides: map[string]string{"MaxMessageBytes": "65536", "MaxReceiveCount": "3"},
	})
	want := map[string]string{
		"X_WALLARM_APPLICATION_ID": "42", "GWTAP_SEND_ATTEMPTS": "2", "GWTAP_MAX_MESSAGE_BYTES": "65536",
		"GWTAP_METRICS_NAMESPACE": "gwtap", "AWS_ENDPOINT_URL_SQS": s.sqs.Endpoint(),
	}
	for k, v := range want {
		if s.fn.env[k] != v {
			t.Errorf("%s = %q, want %q", k, s.fn.env[k], v)
		}
	}
	if s.fn.logGroup != "/aws/lambda/wiring-IngestFunction" || s.fn.arch != "arm64" {
		t.Errorf("log group %q, architecture %q", s.fn.logGroup, s.fn.arch)
	}
	queues := map[string]localQueue{}
	for _, q := range s.queues {
		queues[q.logicalID] = q
	}
	traffic, dlq := queues["TrafficQueue"], queues["DeadLetterQueue"]
	if traffic.name != "wiring-traffic" || s.fn.env["GWTAP_QUEUE_URL"] != traffic.url || dlq.name != "wiring-DeadLetterQueue" || len(queues) != 3 {
		t.Fatalf("queues %+v; GWTAP_QUEUE_URL %s", queues, s.fn.env["GWTAP_QUEUE_URL"])
	}
	got, err := s.client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(traffic.url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetARN string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(got.Attributes["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", got.Attributes["RedrivePolicy"], err)
	}
	if redrive.DeadLetterTargetARN != dlq.arn || fmt.Sprint(redrive.MaxReceiveCount) != "3" {
		t.Errorf("RedrivePolicy %+v, want %s after 3 receives", redrive, dlq.arn)
	}
	for k, v := range map[string]string{"MaximumMessageSize": "65536", "VisibilityTimeout": "180", "MessageRetentionPeriod": "345600"} {
		if got.Attributes[k] != v {
			t.Errorf("TrafficQueue %s = %q, want %q", k, got.Attributes[k], v)
		}
	}
}

// TestInvokeIngestOneMegabyte measures what issue #7 asks: the ingest
// bootstrap's peak RSS on one ~1 MB compressed delivery, in a process of
// its own, and its time from start to the first /next. It runs at the
// template's 128 MB, where the emulator fails an invocation that grows past
// the limit, as Lambda would.
func TestInvokeIngestOneMegabyte(t *testing.T) {
	s := startSession(t, invokeOptions{function: "ingest"})
	// Start the process before building the event, so that this process's
	// peak when spawning it, which Linux adds to the child's ru_maxrss, is
	// still small.
	if err := s.emu.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// 20,000 seed-format lines in one delivery; gwtap events -synthetic
	// 20000 makes the same lines but splits them into 1 MiB deliveries, as
	// CloudWatch does.
	const lines = 20000
	g := synth.New(1, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	p := &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: "/aws/apigateway/gwtap-demo",
		LogStream: "synthetic", SubscriptionFilters: []string{"gwtap"}}
	for i := range lines {
		p.LogEvents = append(p.LogEvents, cwlogs.LogEvent{ID: fmt.Sprint(i), Timestamp: int64(i), Message: synth.SeedJSON(g.Next())})
	}
	data, err := cwlogs.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	event, err := json.Marshal(events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	compressed := len(data) * 3 / 4
	if compressed < 800<<10 || compressed > 1500<<10 {
		t.Fatalf("the payload is %d bytes compressed, want about 1 MB", compressed)
	}
	res, deltas, err := s.invoke(t.Context(), event)
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil {
		t.Fatalf("%v\n%s", res.FunctionError, res.Logs)
	}
	if tq := trafficDelta(t, deltas); tq.records != lines {
		t.Errorf("%d records enqueued, want %d", tq.records, lines)
	}
	if err := s.emu.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.emu.Stats()
	t.Logf("%d KiB compressed, %d lines: %s", compressed>>10, lines, res.Report())
	t.Logf("peak RSS (VmHWM) %d KiB; ru_maxrss at exit %d KiB (spawner's own peak %d KiB); first /next %v after start",
		st.PeakRSS>>10, st.ExitMaxRSS>>10, st.SpawnerRSS>>10, st.FirstNext)
}

// TestInvokeCommand runs `gwtap invoke` as a user would.
func TestInvokeCommand(t *testing.T) {
	build := t.TempDir()
	var out, errOut bytes.Buffer
	err := Run(t.Context(), []string{"invoke", "ingest", "--build-dir", build,
		"../../events/cloudwatch-control-message.json", "-e", "../../events/cloudwatch-seed-json.json"}, &out, &errOut)
	if errors.Is(err, localsqs.ErrNotInstalled) && os.Getenv("CI") == "" {
		t.Skipf("skipping: needs the SQS stand-in: %v", err)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if out.String() != "null\nnull\n" {
		t.Errorf("stdout %q, want the two responses", out.String())
	}
	stderr := errOut.String()
	for _, want := range []string{
		"bootstrap ", ", built", "START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "\tInit Duration: ",
		"Memory Size: 128 MB\tMax Memory Used: ", `"level":"INFO"`,
		"TrafficQueue gwtap-traffic: 0 messages\n", "TrafficQueue gwtap-traffic: 1 message carrying 40 records\n",
		"process: 1 cold start; peak RSS ", "first /next ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Index(stderr, "40 records") > strings.Index(stderr, "0 messages") {
		t.Errorf("the -e event must run first, then the EVENT arguments:\n%s", stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"awslogs":{"data":"bm90IGd6aXA="}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	err = Run(t.Context(), []string{"invoke", "--build-dir", build, "IngestFunction", bad}, &out, &errOut)
	if !errors.Is(err, errFunctionFailed) {
		t.Fatalf("err = %v, want a function error\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `"errorType"`) || !strings.Contains(errOut.String(), ", up to date") {
		t.Errorf("stdout %q; stderr:\n%s", out.String(), errOut.String())
	}
}

// TestInvokeForward runs functions/forward on an empty SQS batch when it
// exists, builds and is in the template; it is written elsewhere, so the
// test only checks that gwtap invoke can run it.
func TestInvokeForward(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tpl.Resource("ForwardFunction"); !ok {
		t.Skip("skipping: template.yaml has no ForwardFunction yet")
	}
	if _, err := os.Stat("../../functions/forward/main.go"); err != nil {
		t.Skip("skipping: no functions/forward")
	}
	build := t.TempDir()
	if _, err := lambdaemu.Build(t.Context(), lambdaemu.BuildOptions{Dir: "../..", Package: "./functions/forward", Output: filepath.Join(build, "forward", "bootstrap")}); err != nil {
		t.Skipf("skipping: functions/forward does not build yet: %v", err)
	}
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"accepted":0,"duplicates":0,"rejected":[]}`))
	}))
	defer node.Close()
	s := startSession(t, invokeOptions{function: "forward", buildDir: build, overrides: map[string]string{
		"NodeURL": strings.TrimPrefix(node.URL, "http://"), "NodeScheme": "http",
	}})
	res, _, err := s.invoke(t.Context(), []byte(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil {
		t.Fatalf("%v\n%s", res.FunctionError, res.Logs)
	}
	t.Logf("%s → %s", res.Report(), res.Payload)
}

func TestParseParameterOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    map[string]string
		wantErr bool
	}{
		{args: []string{"NodeURL=node:5050 NodeScheme=http"}, want: map[string]string{"NodeURL": "node:5050", "NodeScheme": "http"}},
		{args: []string{"ParameterKey=NodeURL,ParameterValue=node ParameterKey=ApplicationId,ParameterValue=42"}, want: map[string]string{"NodeURL": "node", "ApplicationId": "42"}},
		{args: []string{`SubscriptionFilterPattern="[ip, id]"`, "A=1", "A=2"}, want: map[string]string{"SubscriptionFilterPattern": "[ip, id]", "A": "2"}},
		{args: []string{"A="}, want: map[string]string{"A": ""}},
		{args: []string{"novalue"}, wantErr: true},
		{args: []string{"ParameterKey=A"}, wantErr: true},
		{args: []string{`A="open`}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseParameterOverrides(tt.args)
		if tt.wantErr {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%q: err = %v, want ErrUsage", tt.args, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %v %v, want %v", tt.args, got, err, tt.want)
		}
	}
}

func TestCheckParameters(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkParameters(tpl, map[string]string{"NodeURL": "node.example.com:5050", "MaxMessageBytes": "65536", "Architecture": "x86_64"}); err != nil {
		t.Errorf("valid overrides: %v", err)
	}
	err = checkParameters(tpl, map[string]string{"Nope": "1", "Architecture": "mips", "NodeURL": "http://x", "MaxMessageBytes": "12", "MaxReceiveCount": "many"})
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
	for _, want := range []string{"no parameter Nope", "Architecture=\"mips\" is not one of", "NodeURL=\"http://x\" does not match", "below its MinValue", "MaxReceiveCount=\"many\" is not a number"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestFindFunction(t *testing.T) {
	t.Parallel()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"ingest", "IngestFunction", "Ingest"} {
		id, name, err := findFunction(tpl, arg, "../..")
		if err != nil || id != "IngestFunction" || name != "ingest" {
			t.Errorf("%s: %s %s %v", arg, id, name, err)
		}
	}
	for _, arg := range []string{"nope", "TrafficQueue"} {
		if _, _, err := findFunction(tpl, arg, "../.."); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "IngestFunction (ingest)") {
			t.Errorf("%s: err = %v, want ErrUsage listing the functions", arg, err)
		}
	}
}

func TestReadEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	two := filepath.Join(dir, "two.json")
	if err := os.WriteFile(two, []byte("{\"a\":1}\n{\"b\":\n2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readEvents([]string{two, "-"}, strings.NewReader(`[1] `))
	if err != nil || len(got) != 3 || string(got[0]) != `{"a":1}` || string(got[1]) != "{\"b\":\n2}" || string(got[2]) != "[1]" {
		t.Errorf("readEvents = %q, %v", got, err)
	}
	if got, err := readEvents(nil, nil); err != nil || len(got) != 1 || string(got[0]) != "{}" {
		t.Errorf("no events: %q %v, want one {}", got, err)
	}
	for name, c := range map[string]struct {
		paths []string
		stdin string
	}{
		"not JSON":    {[]string{"-"}, "{nope"},
		"empty":       {[]string{"-"}, "  "},
		"stdin twice": {[]string{"-", "-"}, "{}"},
		"missing":     {[]string{filepath.Join(dir, "missing.json")}, ""},
	} {
		if _, err := readEvents(c.paths, strings.NewReader(c.stdin)); !errors.Is(err, ErrUsage) {
			t.Errorf("%s: err = %v, want ErrUsage", name, err)
		}
	}
}

func TestLoadEnvVars(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "env.json")
	doc := `{"Parameters": {"A": "global", "B": "global", "N": 5}, "IngestFunction": {"B": "mine"}, "ForwardFunction": {"A": "theirs"}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadEnvVars(path, "IngestFunction")
	if want := map[string]string{"A": "global", "B": "mine", "N": "5"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("loadEnvVars = %v, %v; want %v", got, err, want)
	}
	if err := os.WriteFile(path, []byte(`["not", "an", "object"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadEnvVars(path, "IngestFunction"); !errors.Is(err, ErrUsage) {
		t.Errorf("err = %v, want ErrUsage", err)
	}
}

func TestTemplateReferences(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"A": map[string]any{"Ref": "TrafficQueue"},
		"B": map[string]any{"Fn::GetAtt": []any{"DeadLetterQueue", "Arn"}},
		"C": map[string]any{"Fn::Sub": "${AWS::StackName}-${IngestFailureQueue.QueueName}-${!Literal}"},
		"D": []any{map[string]any{"Fn::GetAtt": "Other.Arn"}},
	}
	got := referencedResources(v)
	for _, want := range []string{"TrafficQueue", "DeadLetterQueue", "IngestFailureQueue", "Other", "AWS::StackName"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("referencedResources = %v, lacks %s", got, want)
		}
	}
	attrs := map[string]string{"DeadLetterQueue.Arn": "arn:dlq", "IngestFailureQueue.QueueName": "failures"}
	sub := substituteAttributes(v, attrs).(map[string]any)
	if sub["B"] != "arn:dlq" {
		t.Errorf("GetAtt became %v", sub["B"])
	}
	if s := sub["C"].(map[string]any)["Fn::Sub"]; s != "${AWS::StackName}-failures-${!Literal}" {
		t.Errorf("Sub became %v", s)
	}
	if !reflect.DeepEqual(sub["D"], v["D"]) {
		t.Errorf("an unknown attribute changed: %v", sub["D"])
	}
}

func TestInvokeUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"invoke"},
		{"invoke", "--no-such-flag"},
		{"invoke", "nope"},
		{"invoke", "ingest", "--parameter-overrides", "Nope=1"},
		{"invoke", "ingest", "--parameter-overrides", "bad"},
	} {
		if _, err := run(t, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: err = %v, want ErrUsage", args, err)
		}
	}
}
