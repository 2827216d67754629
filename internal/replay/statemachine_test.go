package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
)

// repoRoot is the repository root, seen from this package's directory.
var repoRoot = filepath.Join("..", "..")

const definitionPath = "statemachine/replay.asl.json"

// requireNodeTool returns the absolute path of a file from node_modules
// (and checks Node.js is on PATH). It skips the test when they are missing,
// or fails it under CI, which installs them (`npm ci`).
func requireNodeTool(t *testing.T, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat(path)
	_, nodeErr := exec.LookPath("node")
	if err := errors.Join(statErr, nodeErr); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must install the Step Functions stand-ins (npm ci): %v", err)
		}
		t.Skipf("skipping: needs Node.js and `npm ci` in the repository root: %v", err)
	}
	return path
}

// TestStateMachineDefinitionIsValid runs asl-validator on the definition
// and on a broken copy, which it must refuse.
func TestStateMachineDefinitionIsValid(t *testing.T) {
	validator := requireNodeTool(t, "node_modules/.bin/asl-validator")
	def, err := os.ReadFile(filepath.Join(repoRoot, definitionPath))
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.asl.json")
	if err := os.WriteFile(broken, bytes.Replace(def, []byte(`"Next": "Verify"`), []byte(`"Next": "Nowhere"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		valid bool
	}{
		{filepath.Join(repoRoot, definitionPath), true},
		{broken, false},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), validator, "--json-path", tc.path).CombinedOutput()
			if (err == nil) != tc.valid {
				t.Errorf("asl-validator: %v\n%s", err, out)
			}
		})
	}
}

// TestStateMachineMatchesTheFunction checks the definition against the Go
// side: each Task invokes the replay function (the substituted ARN) with a
// known action, and every field its ResultSelector reads is one the
// function's answer always holds (a missing field fails the execution).
func TestStateMachineMatchesTheFunction(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, definitionPath))
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			Type       string
			Resource   string
			Parameters struct {
				FunctionName string
				Payload      map[string]any
			}
			ResultSelector map[string]string
		}
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	answers := map[string]any{ActionProbe: ProbeResult{}, ActionStatus: Status{}, ActionRedrive: PageResult{}}
	field := regexp.MustCompile(`^\$\.Payload\.([A-Za-z]+)$`)
	tasks := 0
	for name, st := range def.States {
		if st.Type != "Task" {
			continue
		}
		tasks++
		action, _ := st.Parameters.Payload["action"].(string)
		answer, known := answers[action]
		if st.Resource != "arn:aws:states:::lambda:invoke" || st.Parameters.FunctionName != "${ReplayFunctionArn}" || !known {
			t.Errorf("%s invokes %s %s with action %q", name, st.Resource, st.Parameters.FunctionName, action)
			continue
		}
		b, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		var keys map[string]any
		if err := json.Unmarshal(b, &keys); err != nil {
			t.Fatal(err)
		}
		for _, path := range st.ResultSelector {
			m := field.FindStringSubmatch(path)
			if m == nil {
				t.Errorf("%s selects %s, not a field of the payload", name, path)
				continue
			}
			if _, ok := keys[m[1]]; !ok {
				t.Errorf("%s reads $.Payload.%s, which a zero %s answer lacks", name, m[1], action)
			}
		}
	}
	if tasks != 5 {
		t.Errorf("found %d Task states, want 5 (probe, status, page, probe between pages, verify)", tasks)
	}
}

// execution is what statemachine/run-local.mjs reports.
type execution struct {
	Status string          `json:"status"`
	Output json.RawMessage `json:"output"`
	Error  string          `json:"error"`
	Cause  string          `json:"cause"`
	States []string        `json:"states"`
}

// TestStateMachineRuns executes the real definition with
// aws-local-stepfunctions; its Task states call back into this test, which
// runs the real LambdaHandler against local-aws-sqs and a test node.
func TestStateMachineRuns(t *testing.T) {
	script := requireNodeTool(t, "statemachine/run-local.mjs")
	requireNodeTool(t, "node_modules/aws-local-stepfunctions/package.json")
	srv := localsqstest.Start(t)
	fromForward := map[string]string{forward.AttrFailureReason: "invalid token", forward.AttrFailureStatus: "401"}
	atLimit := map[string]string{forward.AttrFailureReason: "batch is malformed", forward.AttrFailureStatus: "400", forward.AttrReplayCount: "3"}

	tests := []struct {
		name       string
		nodeDown   bool
		atLimit    int // of the four messages, how many reached the replay limit
		options    string
		wantStatus string
		wantError  string
		wantCause  []string
		wantStates []string // states that must have been entered
		wantMoved  int
	}{
		{
			name: "healthy", options: `{"pageSize": 2, "maxProbes": 3}`, wantStatus: "SUCCEEDED", wantMoved: 4,
			wantStates: []string{"ReadStatus", "RedrivePage", "ProbeBetweenPages", "Verify", "Done"},
		},
		{
			name: "unhealthy", nodeDown: true, options: `{"maxProbes": 3, "firstWaitSeconds": 1}`, wantStatus: "FAILED",
			wantError:  "Replay.NodeUnhealthy",
			wantCause:  []string{"not healthy after 3 probes", "node answered 503 (degraded)"},
			wantStates: []string{"WaitForNode", "BackOff", "DescribeUnhealthy", "Failed"},
		},
		{
			name: "partly failing", atLimit: 2, options: `{"pageSize": 3}`, wantStatus: "FAILED", wantMoved: 2,
			wantError:  "Replay.MessagesParked",
			wantCause:  []string{"2 messages (20 records) re-driven", "2 messages were parked"},
			wantStates: []string{"RedrivePage", "Verify", "DescribeParked", "Failed"},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newQueues(t, srv, "sfn"+string(rune('a'+i)))
			n := startNode(t, nil)
			n.down.Store(tc.nodeDown)
			groups := [][]string{ids(tc.name+"-0", 10), ids(tc.name+"-1", 10), ids(tc.name+"-2", 10), ids(tc.name+"-3", 10)}
			e.send(t, e.qs.DLQ.URL, atLimit, groups[:tc.atLimit]...)
			e.send(t, e.qs.DLQ.URL, fromForward, groups[tc.atLimit:]...)
			s, _ := e.service(t, n, nil)
			fn := httptest.NewServer(invokeEndpoint(t, NewLambdaHandler(s)))
			t.Cleanup(fn.Close)

			cmd := exec.CommandContext(t.Context(), "node", script, "--endpoint", fn.URL,
				"--input", `{"options": `+tc.options+`}`, "--wait-ms", "5", "--retry-ms", "5")
			cmd.Dir = repoRoot
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("run-local.mjs: %v\n%s", err, stderr.String())
			}
			var ex execution
			if err := json.Unmarshal(out, &ex); err != nil {
				t.Fatalf("run-local.mjs printed %q: %v", out, err)
			}
			if ex.Status != tc.wantStatus || ex.Error != tc.wantError {
				t.Errorf("execution %s %s (%s), want %s %s", ex.Status, ex.Error, ex.Cause, tc.wantStatus, tc.wantError)
			}
			for _, c := range tc.wantCause {
				if !strings.Contains(ex.Cause, c) {
					t.Errorf("cause %q lacks %q", ex.Cause, c)
				}
			}
			for _, st := range tc.wantStates {
				if !slices.Contains(ex.States, st) {
					t.Errorf("state %s never entered: %v", st, ex.States)
				}
			}

			if tc.wantStatus == "SUCCEEDED" {
				var summary struct {
					Totals struct{ Pages, Moved, Records, Parked int }
					After  struct{ Visible int }
				}
				if err := json.Unmarshal(ex.Output, &summary); err != nil {
					t.Fatal(err)
				}
				if summary.Totals.Moved != tc.wantMoved || summary.Totals.Records != 10*tc.wantMoved || summary.Totals.Pages < 2 || summary.After.Visible != 0 {
					t.Errorf("summary %s", ex.Output)
				}
			}
			// What the run moved is delivered by forward; nothing else moved.
			if got := e.depth(t, e.qs.Traffic.URL); got != tc.wantMoved {
				t.Errorf("traffic queue holds %d messages, want %d", got, tc.wantMoved)
			}
			e.drainTraffic(t, e.forwarder(t, n))
			want := groups[len(groups)-tc.wantMoved:]
			if tc.wantMoved == 0 {
				want = nil
			}
			if miss := missing(n, want...); len(miss) > 0 {
				t.Errorf("not delivered: %v", miss)
			}
			if got := len(n.Stored()); got != 10*tc.wantMoved {
				t.Errorf("node stored %d records, want %d", got, 10*tc.wantMoved)
			}
			if got, want := e.depth(t, e.qs.DLQ.URL), 4-tc.wantMoved; got != want {
				t.Errorf("DLQ holds %d messages, want %d", got, want)
			}
		})
	}
}

// invokeEndpoint serves run-local.mjs's task calls: the body is the
// function's payload, answered as Lambda would: the result, or a function
// error with its type.
func invokeEndpoint(t *testing.T, h *LambdaHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		out, err := h.Invoke(r.Context(), body)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) {
				t.Errorf("Invoke returned %T %v", err, err)
			}
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"errorType": ie.Type, "errorMessage": ie.Message})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}
