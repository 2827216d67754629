package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/replay"
)

// fakeStacks answers DescribeStacks with outputs, or err.
type fakeStacks struct {
	outputs map[string]string
	err     error
}

func (f fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	st := cfntypes.Stack{StackName: in.StackName}
	for k, v := range f.outputs {
		st.Outputs = append(st.Outputs, cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{st}}, nil
}

func TestResolveTarget(t *testing.T) {
	const (
		dlq     = "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-dlq"
		traffic = "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-traffic"
		failure = "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-ingest"
		other   = "https://sqs.eu-west-1.amazonaws.com/123456789012/other"
	)
	stack := fakeStacks{outputs: map[string]string{outputDLQ: dlq, outputTraffic: traffic, outputIngestFailure: failure, outputNode: "http://node.internal:5050"}}
	tests := []struct {
		name      string
		flags     dlqFlags
		env       map[string]string
		stacks    stackAPI
		wantQs    replay.Queues
		wantNode  string // base URL, "" for none
		wantUsage bool
		wantErr   bool
	}{
		{"flags", dlqFlags{dlqURL: dlq, trafficURL: traffic}, nil, nil, replay.Queues{DLQ: dlq, Traffic: traffic}, "", false, false},
		{"stack outputs", dlqFlags{stack: "gwtap"}, nil, stack, replay.Queues{DLQ: dlq, Traffic: traffic, IngestFailure: failure}, "http://node.internal:5050", false, false},
		{"a flag beats the stack", dlqFlags{stack: "gwtap", dlqURL: other, node: "node.example.com"}, nil, stack, replay.Queues{DLQ: other, Traffic: traffic, IngestFailure: failure}, "https://node.example.com", false, false},
		{"environment", dlqFlags{}, map[string]string{replay.EnvDLQURL: dlq, replay.EnvTrafficQueueURL: traffic, "X_NODE_URL": "10.0.0.5:8080", "X_NODE_SCHEME": "http"}, nil,
			replay.Queues{DLQ: dlq, Traffic: traffic}, "http://10.0.0.5:8080", false, false},
		{"nothing", dlqFlags{}, nil, nil, replay.Queues{}, "", true, false},
		{"not a URL", dlqFlags{dlqURL: "gwtap-dlq", trafficURL: traffic}, nil, nil, replay.Queues{}, "", true, false},
		{"bad node", dlqFlags{dlqURL: dlq, trafficURL: traffic, node: "node.example.com/v1"}, nil, nil, replay.Queues{}, "", true, false},
		{"stack not readable", dlqFlags{stack: "gwtap"}, nil, fakeStacks{err: errors.New("AccessDenied")}, replay.Queues{}, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveTarget(t.Context(), tc.flags, tc.stacks, func(k string) string { return tc.env[k] })
			switch {
			case tc.wantUsage:
				if !errors.Is(err, ErrUsage) {
					t.Errorf("err = %v, want ErrUsage", err)
				}
				return
			case tc.wantErr:
				if err == nil || errors.Is(err, ErrUsage) {
					t.Errorf("err = %v, want a failure to read the stack", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			node := ""
			if got.node.Host != "" {
				node = got.node.BaseURL()
			}
			if got.queues != tc.wantQs || node != tc.wantNode {
				t.Errorf("target = %+v node %q, want %+v node %q", got.queues, node, tc.wantQs, tc.wantNode)
			}
		})
	}
}

// TestDLQCommands runs gwtap dlq against local-aws-sqs: status, peek, a dry
// run, a bounded replay with its progress bar, the refusal to replay into an
// unreachable node, and usage errors.
func TestDLQCommands(t *testing.T) {
	srv := localsqstest.Start(t)
	qs, err := srv.CreateQueues(t.Context(), localsqs.QueueSpec{Name: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := srv.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		sendEnvelope(t, client, qs.DLQ.URL, "r"+strconv.Itoa(i), 4, map[string]string{forward.AttrFailureReason: "invalid token", forward.AttrFailureStatus: "401"})
	}
	clients := func(context.Context, string) (replay.SQSAPI, stackAPI, error) { return client, nil, nil }
	dlq := func(t *testing.T, args ...string) (string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args[:1:1], append([]string{"-dlq-url", qs.DLQ.URL, "-traffic-url", qs.Traffic.URL}, args[1:]...)...)
		err := dlqMain(t.Context(), args, &out, &errOut, clients)
		return out.String(), errOut.String(), err
	}

	out, _, err := dlq(t, "status")
	if err != nil || !strings.Contains(out, "sampled 3 (every visible message): 12 records") || !strings.Contains(out, "3 messages        12 records  invalid token") {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, _, err = dlq(t, "peek", "-limit", "1", "-json")
	var peeked struct{ Messages []replay.Message }
	if err != nil || json.Unmarshal([]byte(out), &peeked) != nil || len(peeked.Messages) != 1 || peeked.Messages[0].Records.Count != 4 {
		t.Errorf("peek -json: %v\n%s", err, out)
	}
	out, _, err = dlq(t, "peek")
	if err != nil || strings.Count(out, "\n  reason       invalid token\n") != 3 || !strings.Contains(out, "GET /users/") {
		t.Errorf("peek: %v\n%s", err, out)
	}
	out, _, err = dlq(t, "replay", "-dry-run")
	if err != nil || !strings.Contains(out, "would move 3 messages (12 records)") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	_, stderr, err := dlq(t, "replay", "-node", "127.0.0.1:1", "-node-scheme", "http")
	if err == nil || !strings.Contains(err.Error(), "is not healthy: no answer from node: connection refused") {
		t.Errorf("replay into an unreachable node: %v\n%s", err, stderr)
	}
	out, stderr, err = dlq(t, "replay", "-max", "2", "-rate", "50")
	if err != nil || !strings.Contains(out, "moved 2 messages (8 records)") || !strings.Contains(out, "stopped: limit") {
		t.Errorf("replay -max 2: %v\n%s", err, out)
	}
	if !strings.Contains(stderr, "\r[") || !strings.Contains(stderr, "] 2/2  moved 2") || !strings.Contains(stderr, "no node given") {
		t.Errorf("progress on stderr: %q", stderr)
	}
	if n := queueDepth(t, client, qs.Traffic.URL); n != 2 {
		t.Errorf("traffic queue holds %d messages, want 2", n)
	}

	for _, args := range [][]string{{}, {"purge"}, {"status", "extra"}, {"replay", "-rate", "fast"}} {
		var out, errOut bytes.Buffer
		if err := dlqMain(t.Context(), args, &out, &errOut, clients); !errors.Is(err, ErrUsage) {
			t.Errorf("dlq %v: %v, want ErrUsage", args, err)
		}
	}
	var out2, errOut2 bytes.Buffer
	if err := dlqMain(t.Context(), []string{"reingest", "-dlq-url", qs.DLQ.URL, "-traffic-url", qs.Traffic.URL}, &out2, &errOut2, clients); !errors.Is(err, ErrUsage) {
		t.Errorf("reingest without its queue: %v, want ErrUsage", err)
	}
}

// sendEnvelope sends one envelope of n records to url with extra attributes.
func sendEnvelope(t *testing.T, client *sqs.Client, url, prefix string, n int, extra map[string]string) {
	t.Helper()
	var ndjson []byte
	var ends []int
	for i := range n {
		r := record.Record{ID: prefix + "-" + strconv.Itoa(i), Method: "GET", Path: "/users/" + strconv.Itoa(i), Status: 200, Time: time.Now().UnixMilli()}
		ndjson = append(r.AppendJSON(ndjson), '\n')
		ends = append(ends, len(ndjson))
	}
	p, err := envelope.NewPacker(envelope.DefaultMaxMessageBytes)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := p.Pack(ndjson, ends)
	attrs := map[string]types.MessageAttributeValue{}
	for k, a := range msgs[0].Attributes() {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
	}
	for k, v := range extra {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	if _, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(msgs[0].Body), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

// queueDepth counts visible, in-flight and delayed messages (local-aws-sqs
// counts a message just sent as delayed for a moment).
func queueDepth(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	d, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)])
	return n + d
}
