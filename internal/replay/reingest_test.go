package replay

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/ingest"
)

// seedEventRecords is how many access-log lines events/cloudwatch-seed-json.json holds.
const seedEventRecords = 40

// TestReingest puts what Lambda keeps in IngestFailureQueue (an OnFailure
// invocation record, in the documented shape, and for good measure a plain
// event) and a record Lambda left the payload out of, then re-ingests.
func TestReingest(t *testing.T) {
	e := newEnv(t, "reingest")
	event, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudwatch-seed-json.json"))
	if err != nil {
		t.Fatal(err)
	}
	invocationRecord := func(payload json.RawMessage) string {
		rec := map[string]any{
			"version":   "1.0",
			"timestamp": "2026-12-01T12:00:00.000Z",
			"requestContext": map[string]any{
				"requestId": "e4b46cbf-b738-4e1f-8880-a18cdf61200e", "condition": "RetriesExhausted", "approximateInvokeCount": 3,
				"functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:gwtap-IngestFunction:$LATEST",
			},
			"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
			"responsePayload": map[string]any{"errorType": "errorString", "errorMessage": "envelopes not enqueued"},
		}
		if payload != nil {
			rec["requestPayload"] = payload
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, body := range []string{invocationRecord(event), string(event), invocationRecord(nil)} {
		if _, err := e.client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(e.qs.Extra.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	icfg, err := ingest.LoadConfig(func(k string) string {
		return map[string]string{ingest.EnvQueueURL: e.qs.Traffic.URL, ingest.EnvAppID: "7"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ih, err := ingest.NewHandler(icfg, e.client, discardLog(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, m := e.service(t, nil, func(_ *Config, d *Deps) { d.Ingester = ih })

	dry, err := s.Reingest(t.Context(), ReingestOptions{DryRun: true})
	if err != nil || dry.Reingested != 2 || dry.Unusable != 1 || dry.Stop != StopEmpty {
		t.Errorf("dry run = %+v, %v; want 2 re-ingestable, 1 unusable", dry, err)
	}
	e.waitVisible(t, e.qs.Extra.URL, 3)
	if d := e.depth(t, e.qs.Traffic.URL); d != 0 {
		t.Errorf("the dry run enqueued %d messages", d)
	}

	res, err := s.Reingest(t.Context(), ReingestOptions{Release: true})
	if err != nil || res.Reingested != 2 || res.Records != 2*seedEventRecords || res.Unusable != 1 || res.Failed != 0 {
		t.Errorf("reingest = %+v, %v; want 2 events, %d records, 1 unusable", res, err, 2*seedEventRecords)
	}
	if d := e.depth(t, e.qs.Traffic.URL); d == 0 {
		t.Error("nothing was enqueued on the traffic queue")
	}
	e.waitVisible(t, e.qs.Extra.URL, 1) // the unusable record stays, for an operator
	if got := m.metric(t, "EventsReingested"); got != 2 {
		t.Errorf("EventsReingested = %v, want 2", got)
	}

	bare, _ := e.service(t, nil, nil)
	if _, err := bare.Reingest(t.Context(), ReingestOptions{}); KindOf(err) != KindNotConfigured {
		t.Errorf("reingest without an ingester: %v, want KindNotConfigured", err)
	}
}

func TestSubscriptionEvent(t *testing.T) {
	tests := []struct {
		name, body string
		wantData   string // "" means unusable
	}{
		{"invocation record", `{"version":"1.0","requestPayload":{"awslogs":{"data":"H4sI"}}}`, "H4sI"},
		{"plain event", `{"awslogs":{"data":"H4sI"}}`, "H4sI"},
		{"payload left out", `{"version":"1.0","requestContext":{"condition":"RetriesExhausted"}}`, ""},
		{"null payload", `{"requestPayload":null}`, ""},
		{"payload of another event", `{"requestPayload":{"Records":[]}}`, ""},
		{"not JSON", `awslogs`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, _, err := subscriptionEvent(tc.body)
			if tc.wantData == "" {
				if err == nil {
					t.Errorf("got %+v, want unusable", ev)
				}
				return
			}
			if err != nil || ev.AWSLogs.Data != tc.wantData {
				t.Errorf("got %+v, %v; want data %q", ev, err, tc.wantData)
			}
		})
	}
}
