package replay

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// TestInvokeFunctionURL feeds the handler Function URL events (payload
// format 2.0, as Lambda delivers them) and checks they reach the admin API.
func TestInvokeFunctionURL(t *testing.T) {
	tests := []struct {
		file       string
		wantStatus int
		wantBody   string
	}{
		{"function-url-get-dlq.json", 200, `"sampleComplete": true`},
		{"function-url-post-replay.json", 200, `"dryRun": true`}, // base64 body
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			s, logs := fakeService(t, fakeSQS{}, healthy)
			out, err := NewLambdaHandler(s).Invoke(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			resp, ok := out.(events.APIGatewayV2HTTPResponse)
			if !ok {
				t.Fatalf("answer is a %T, want an HTTP response", out)
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(resp.Body, tc.wantBody) || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("response = %d %v %s, want %d with %q", resp.StatusCode, resp.Headers, resp.Body, tc.wantStatus, tc.wantBody)
			}
			// The Function URL's IAM caller is in the log, for audit.
			if !strings.Contains(logs.buf.String(), "arn:aws:iam::123456789012:user/operator") {
				t.Errorf("caller not logged: %s", logs.buf.String())
			}
		})
	}
}

func TestInvokeDirect(t *testing.T) {
	started := time.Now().UTC().Format(time.RFC3339Nano)
	tests := []struct {
		name     string
		sqs      SQSAPI
		event    string
		wantType string // error type; "" for success
		wantOut  string // a substring of the JSON answer or the error message
	}{
		{"status", fakeSQS{}, `{"action":"status"}`, "", `"sampleComplete":true`},
		{"peek", fakeSQS{}, `{"action":"peek","limit":2}`, "", `{"messages":[]}`},
		{"probe", fakeSQS{}, `{"action":"probe"}`, "", `"healthy":true`},
		{"redrive without a run", fakeSQS{}, `{"action":"redrive","dryRun":true}`, "", `"stop":"empty","elapsedSeconds":0,"more":false`},
		{"redrive page", fakeSQS{}, `{"action":"redrive","max":5,"run":{"startedAt":"` + started + `","budgetSeconds":60,"maxMessages":10,"moved":3}}`, "", `"stop":"empty"`},
		{"run's max already reached", fakeSQS{}, `{"action":"redrive","run":{"startedAt":"` + started + `","budgetSeconds":60,"maxMessages":10,"moved":10}}`, "", `"stop":"limit","elapsedSeconds":0,"more":false`},
		{"run without a start", fakeSQS{}, `{"action":"redrive","run":{"budgetSeconds":60}}`, ErrorTypeInvalid, "run needs startedAt"},
		{"unknown action", fakeSQS{}, `{"action":"purge"}`, ErrorTypeInvalid, "unknown action \"purge\""},
		{"unknown field", fakeSQS{}, `{"action":"status","samples":3}`, ErrorTypeInvalid, "unknown field \"samples\""},
		{"neither shape", fakeSQS{}, `{"awslogs":{"data":"x"}}`, ErrorTypeInvalid, "unrecognised event"},
		{"not an object", fakeSQS{}, `[1,2]`, ErrorTypeInvalid, "not a JSON object"},
		{"reingest not configured", fakeSQS{}, `{"action":"reingest"}`, ErrorTypeNotConfigured, "re-ingest is not configured"},
		{"SQS down", fakeSQS{err: errors.New("AccessDenied for role secret-role")}, `{"action":"status"}`, ErrorTypeUnavailable, "reading the dead-letter queue's attributes failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fakeService(t, tc.sqs, healthy)
			ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
			out, err := NewLambdaHandler(s).Invoke(ctx, json.RawMessage(tc.event))
			if tc.wantType == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				b, _ := json.Marshal(out)
				if !strings.Contains(string(b), tc.wantOut) {
					t.Errorf("answer %s, want %q in it", b, tc.wantOut)
				}
				return
			}
			// aws-lambda-go passes this type through as the function error,
			// so its Type is what Step Functions matches.
			ie, ok := err.(messages.InvokeResponse_Error) //nolint:errorlint // the runtime checks the concrete type
			if !ok {
				t.Fatalf("error %T %v, want a messages.InvokeResponse_Error", err, err)
			}
			if ie.Type != tc.wantType || !strings.Contains(ie.Message, tc.wantOut) || !strings.HasSuffix(ie.Message, "(request req-1)") {
				t.Errorf("error %s: %q, want %s with %q and the request id", ie.Type, ie.Message, tc.wantType, tc.wantOut)
			}
			if strings.Contains(ie.Message, "secret-role") {
				t.Errorf("error message leaks the cause: %q", ie.Message)
			}
		})
	}
}
