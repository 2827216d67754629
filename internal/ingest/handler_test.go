package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/envelope"
)

// fakeSQS scripts SendMessageBatch: script[k] decides the outcome of call k
// (the last entry repeats). It records every body it accepted.
type fakeSQS struct {
	SQSAPI
	mu       sync.Mutex
	calls    int
	script   []func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
	accepted []string
	maxBatch int // entries in the largest call
	maxBytes int // bytes in the largest call
}

func (f *fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	f.maxBatch = max(f.maxBatch, len(in.Entries))
	size := 0
	for _, e := range in.Entries {
		size += len(aws.ToString(e.MessageBody))
		for name, a := range e.MessageAttributes {
			size += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue))
		}
	}
	f.maxBytes = max(f.maxBytes, size)
	out, err := step(in)
	if err != nil {
		return nil, err
	}
	ok := map[string]bool{}
	for _, s := range out.Successful {
		ok[aws.ToString(s.Id)] = true
	}
	for _, e := range in.Entries {
		if ok[aws.ToString(e.Id)] {
			f.accepted = append(f.accepted, aws.ToString(e.MessageBody))
		}
	}
	return out, nil
}

func acceptAll(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m-" + aws.ToString(e.Id))})
	}
	return out, nil
}

// failFirst fails the first entry of the call (SQS-side fault) and accepts the rest.
func failFirst(senderFault bool) func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
	return func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		out, _ := acceptAll(&sqs.SendMessageBatchInput{Entries: in.Entries[1:]})
		out.Failed = []types.BatchResultErrorEntry{{Id: in.Entries[0].Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: senderFault}}
		return out, nil
	}
}

func callFails(*sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
	return nil, errors.New("connection reset by peer")
}

func TestHandle(t *testing.T) {
	type step = func(*sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
	tests := []struct {
		name         string
		script       []step
		maxMsgBytes  int
		lines        int
		wantErr      error
		wantCalls    int
		wantRecords  int // records accepted by the fake
		wantMinCalls int
	}{
		{name: "all accepted", script: []step{acceptAll}, lines: 300, wantCalls: 1, wantRecords: 300},
		{name: "entry failure retried", script: []step{failFirst(false), acceptAll}, maxMsgBytes: 8 << 10, lines: 300, wantRecords: 300, wantMinCalls: 2},
		{name: "call failure retried", script: []step{callFails, callFails, acceptAll}, lines: 300, wantCalls: 3, wantRecords: 300},
		{name: "sender fault not retried", script: []step{failFirst(true)}, lines: 300, wantErr: ErrNotEnqueued, wantCalls: 1},
		{name: "attempts exhausted", script: []step{callFails}, lines: 300, wantErr: ErrNotEnqueued, wantCalls: 4},
		{name: "many small messages, batched by ten", script: []step{acceptAll}, maxMsgBytes: 4 << 10, lines: 2000, wantRecords: 2000, wantMinCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tt.maxMsgBytes > 0 {
				cfg.MaxMessageBytes = tt.maxMsgBytes
			}
			q := &fakeSQS{script: tt.script}
			var emf bytes.Buffer
			h, err := NewHandler(cfg, q, discardLogger(), &emf)
			if err != nil {
				t.Fatal(err)
			}
			h.SetRetryPolicy(backoff.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond})
			res, err := h.Handle(t.Context(), events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: payload(t, synthLines(tt.lines, 5)...)}})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantCalls > 0 && q.calls != tt.wantCalls {
				t.Errorf("%d SendMessageBatch calls, want %d", q.calls, tt.wantCalls)
			}
			if q.calls < tt.wantMinCalls {
				t.Errorf("%d SendMessageBatch calls, want at least %d", q.calls, tt.wantMinCalls)
			}
			if q.maxBatch > 10 || q.maxBytes > cfg.MaxMessageBytes {
				t.Errorf("a call had %d entries / %d bytes (limits 10 / %d)", q.maxBatch, q.maxBytes, cfg.MaxMessageBytes)
			}
			if tt.wantErr == nil {
				recs := openAll(t, q.accepted)
				if len(recs) != tt.wantRecords || res.Stats.Enqueued != tt.wantRecords {
					t.Errorf("accepted %d records, stats say %d, want %d", len(recs), res.Stats.Enqueued, tt.wantRecords)
				}
				seen := map[string]bool{}
				for _, r := range recs {
					if seen[r.ID] {
						t.Fatalf("record %s enqueued twice", r.ID)
					}
					seen[r.ID] = true
				}
			}
			var m map[string]any
			if err := json.Unmarshal(emf.Bytes(), &m); err != nil {
				t.Fatalf("EMF line: %v: %s", err, emf.Bytes())
			}
			if m["RecordsParsed"].(float64) != float64(tt.lines) {
				t.Errorf("EMF RecordsParsed = %v", m["RecordsParsed"])
			}
			if tt.wantErr != nil && m["RecordsNotEnqueued"] == nil {
				t.Error("EMF lacks RecordsNotEnqueued on failure")
			}
		})
	}
}

func TestHandleDeadlineStopsRetries(t *testing.T) {
	q := &fakeSQS{script: []func(*sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error){callFails}}
	h, err := NewHandler(testConfig(t), q, discardLogger(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Every wait is 0.9 s, but only 0.5 s remain before the margin.
	h.SetRetryPolicy(backoff.Policy{Base: time.Second, Max: time.Second, Margin: time.Second, Rand: func() float64 { return 0.9 }})
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err = h.Handle(ctx, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: payload(t, synthLines(5, 1)...)}})
	if !errors.Is(err, ErrNotEnqueued) || !errors.Is(err, backoff.ErrNoTime) {
		t.Fatalf("err = %v, want ErrNotEnqueued wrapping ErrNoTime", err)
	}
	if q.calls != 1 || time.Since(start) > time.Second {
		t.Errorf("%d calls in %v; retrying into the deadline", q.calls, time.Since(start))
	}
}

func TestHandleControlAndBadPayload(t *testing.T) {
	q := &fakeSQS{script: []func(*sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error){acceptAll}}
	h, _ := NewHandler(testConfig(t), q, discardLogger(), &bytes.Buffer{})
	data, _ := cwlogs.Encode(&cwlogs.Payload{MessageType: cwlogs.ControlMessage})
	res, err := h.Handle(t.Context(), events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
	if err != nil || !res.Control || q.calls != 0 {
		t.Errorf("control message: %+v %v, %d calls", res, err, q.calls)
	}
	_, err = h.Handle(t.Context(), events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: "%%%"}})
	if !errors.Is(err, cwlogs.ErrBase64) || q.calls != 0 {
		t.Errorf("bad payload: %v", err)
	}
}

func TestNewHandlerRejectsBadLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxMessageBytes = 10
	if _, err := NewHandler(cfg, &fakeSQS{}, discardLogger(), &bytes.Buffer{}); err == nil {
		t.Error("accepted a 10-byte message limit")
	}
}

func TestGroup(t *testing.T) {
	msg := func(n int) envelope.Message { return envelope.Message{Body: string(make([]byte, n)), Records: 1} }
	var msgs []envelope.Message
	for range 25 {
		msgs = append(msgs, msg(100))
	}
	msgs = append(msgs, msg(900), msg(900))
	gs := group(msgs, 1000)
	total := 0
	for _, g := range gs {
		size := 0
		for _, m := range g {
			size += m.Size()
		}
		if len(g) > 10 || (len(g) > 1 && size > 1000) {
			t.Errorf("group of %d entries, %d bytes", len(g), size)
		}
		total += len(g)
	}
	if total != len(msgs) {
		t.Errorf("grouped %d of %d", total, len(msgs))
	}
}
