package forward

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeQueue hands out its messages in receives of at most the asked size
// and records deletions.
type fakeQueue struct {
	PollerAPI
	mu       sync.Mutex
	pending  []types.Message
	receives []int32 // MaxNumberOfMessages of each receive
	deleted  []string
}

func newFakeQueue(n int) *fakeQueue {
	q := &fakeQueue{}
	for i := range n {
		id := fmt.Sprintf("m%d", i)
		q.pending = append(q.pending, types.Message{
			MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String("body " + id),
			Attributes:        map[string]string{sysReceiveCount: "2"},
			MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String("v")}},
		})
	}
	return q
}

func (q *fakeQueue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.receives = append(q.receives, in.MaxNumberOfMessages)
	n := min(int(in.MaxNumberOfMessages), len(q.pending), 3) // SQS may return fewer than asked
	out := q.pending[:n]
	q.pending = q.pending[n:]
	return &sqs.ReceiveMessageOutput{Messages: out}, nil
}

func (q *fakeQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(in.Entries) > 10 {
		return nil, errors.New("TooManyEntriesInBatchRequest")
	}
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		q.deleted = append(q.deleted, aws.ToString(e.ReceiptHandle)[len("rh-"):])
		out.Successful = append(out.Successful, types.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func TestPoller(t *testing.T) {
	tests := []struct {
		name        string
		messages    int
		batchSize   int
		window      time.Duration
		handler     func(ev events.SQSEvent) (events.SQSEventResponse, error)
		wantBatch   int
		wantDeleted []string
		wantErr     error
	}{
		{
			name: "no window: one receive", messages: 8, batchSize: 10,
			handler:   func(events.SQSEvent) (events.SQSEventResponse, error) { return events.SQSEventResponse{}, nil },
			wantBatch: 3, wantDeleted: []string{"m0", "m1", "m2"},
		},
		{
			name: "window gathers up to the batch size", messages: 30, batchSize: 12, window: time.Second,
			handler:   func(events.SQSEvent) (events.SQSEventResponse, error) { return events.SQSEventResponse{}, nil },
			wantBatch: 12, wantDeleted: []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"},
		},
		{
			name: "reported failures stay", messages: 3, batchSize: 10,
			handler: func(events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "m1"}}}, nil
			},
			wantBatch: 3, wantDeleted: []string{"m0", "m2"},
		},
		{
			name: "handler error fails the batch", messages: 3, batchSize: 10,
			handler: func(events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{}, errors.New("boom")
			},
			wantBatch: 3,
		},
		{
			name: "unknown item fails the batch", messages: 3, batchSize: 10,
			handler: func(events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "m0"}, {ItemIdentifier: "nope"}}}, nil
			},
			wantBatch: 3, wantErr: ErrInvalidBatchItem,
		},
		{
			name: "empty item fails the batch", messages: 2, batchSize: 10,
			handler: func(events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
			},
			wantBatch: 2, wantErr: ErrInvalidBatchItem,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newFakeQueue(tt.messages)
			var got events.SQSEvent
			var deadline time.Time
			p := &Poller{
				SQS: q, QueueURL: "http://q/traffic", QueueARN: "arn:aws:sqs:us-east-1:000000000000:traffic", Region: "us-east-1",
				BatchSize: tt.batchSize, BatchingWindow: tt.window, Timeout: 7 * time.Second,
				Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					got = ev
					deadline, _ = ctx.Deadline()
					return tt.handler(ev)
				},
			}
			res, err := p.Poll(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Records) != tt.wantBatch || len(res.Received) != tt.wantBatch {
				t.Fatalf("batch of %d, want %d", len(got.Records), tt.wantBatch)
			}
			if !slices.Equal(q.deleted, tt.wantDeleted) || !slices.Equal(res.Deleted, tt.wantDeleted) {
				t.Errorf("deleted %v (result %v), want %v", q.deleted, res.Deleted, tt.wantDeleted)
			}
			if len(res.Failed)+len(res.Deleted) != tt.wantBatch {
				t.Errorf("failed %v + deleted %v do not cover the batch", res.Failed, res.Deleted)
			}
			if tt.wantErr != nil && !errors.Is(res.HandlerErr, tt.wantErr) {
				t.Errorf("HandlerErr %v, want %v", res.HandlerErr, tt.wantErr)
			}
			for _, r := range q.receives {
				if r > 10 || r < 1 {
					t.Errorf("receive asked for %d messages", r)
				}
			}
			m := got.Records[0]
			if m.EventSource != "aws:sqs" || m.EventSourceARN != p.QueueARN || m.AWSRegion != "us-east-1" || m.ReceiptHandle != "rh-m0" ||
				m.Body != "body m0" || m.Attributes[sysReceiveCount] != "2" || aws.ToString(m.MessageAttributes["a"].StringValue) != "v" ||
				m.MessageAttributes["a"].DataType != "String" {
				t.Errorf("event message %+v", m)
			}
			if until := time.Until(deadline); until < 6*time.Second || until > 7*time.Second {
				t.Errorf("invocation deadline in %v, want the 7s timeout", until)
			}
		})
	}
}

func TestPollerEmptyQueue(t *testing.T) {
	called := false
	p := &Poller{SQS: newFakeQueue(0), QueueURL: "http://q/traffic", Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		called = true
		return events.SQSEventResponse{}, nil
	}}
	res, err := p.Poll(t.Context())
	if err != nil || called || len(res.Received) != 0 {
		t.Errorf("%+v %v, handler called %v", res, err, called)
	}
	if _, err := (&Poller{}).Poll(t.Context()); err == nil {
		t.Error("a poller without a queue polled")
	}
}

// TestPollerRun keeps polling until its context ends, reporting each batch.
func TestPollerRun(t *testing.T) {
	q := newFakeQueue(7)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var reports []PollResult
	p := &Poller{SQS: q, QueueURL: "http://q/traffic", Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}}
	err := p.Run(ctx, func(r PollResult) {
		reports = append(reports, r)
		if len(q.deleted) == 7 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fake hands out three messages per receive: 3 + 3 + 1.
	if len(reports) != 3 || len(q.deleted) != 7 {
		t.Errorf("%d reports, %d deleted", len(reports), len(q.deleted))
	}
}

// TestPollerRunIdles: an empty queue without long polling is not hammered.
func TestPollerRunIdles(t *testing.T) {
	q := newFakeQueue(0)
	ctx, cancel := context.WithTimeout(t.Context(), 350*time.Millisecond)
	defer cancel()
	p := &Poller{SQS: q, QueueURL: "http://q/traffic", Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}}
	if err := p.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(q.receives); n < 2 || n > 6 {
		t.Errorf("%d receives in 350ms, want about one per %v", n, idlePause)
	}
}
