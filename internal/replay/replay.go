package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/protocol"
)

// SQSAPI is the part of the SQS client replay uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Node is the part of the collector client the probe uses.
type Node interface {
	Health(ctx context.Context) (protocol.Health, error)
}

var _ Node = (*collector.Client)(nil)

// Ingester re-runs ingest on a raw CloudWatch Logs event; *ingest.Handler
// is one.
type Ingester interface {
	Handle(ctx context.Context, ev events.CloudwatchLogsEvent) (ingest.Result, error)
}

var _ Ingester = (*ingest.Handler)(nil)

// Deps are the clients a Service uses, built once per container.
type Deps struct {
	// SQS reaches every queue; required.
	SQS SQSAPI
	// Node answers the probe; nil makes Probe fail with KindNotConfigured.
	Node Node
	// NodeURL names the node in probe results (scheme://host).
	NodeURL string
	// Ingester re-ingests raw events; nil (or no IngestFailure queue) makes
	// Reingest fail with KindNotConfigured.
	Ingester Ingester
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
	// Metrics receives EMF lines; nil discards them.
	Metrics io.Writer
}

// Service is the replay core, shared by the replay function, its admin API
// and `gwtap dlq`. Build one per container with New; it is safe for
// concurrent use, though two re-drives at once each take their share of the
// rate.
type Service struct {
	cfg     Config
	q       SQSAPI
	node    Node
	nodeURL string
	ingest  Ingester
	log     *slog.Logger
	metrics io.Writer
	opener  *envelope.Opener
	retry   backoff.Policy
	now     func() time.Time
}

// New returns a Service for cfg. It returns an error for an invalid cfg or
// a missing SQS client.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("replay configuration: %w", err)
	}
	if deps.SQS == nil {
		return nil, errors.New("replay needs an SQS client")
	}
	opener, err := envelope.NewOpener(0)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, q: deps.SQS, node: deps.Node, nodeURL: deps.NodeURL, ingest: deps.Ingester,
		log: deps.Log, metrics: deps.Metrics, opener: opener,
		retry: backoff.Policy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Margin: time.Second},
		now:   time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = io.Discard
	}
	if s.nodeURL == "" && cfg.Node.Host != "" {
		s.nodeURL = cfg.Node.BaseURL()
	}
	return s, nil
}

// Config returns the configuration the Service was built with.
func (s *Service) Config() Config { return s.cfg }

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// deadlineMargin is kept free before the context's deadline, so a call
// reports what it did instead of being cut off by Lambda.
const deadlineMargin = 5 * time.Second

// callEnd returns when a call with budget must stop: start+budget, and no
// later than the context's deadline minus the margin.
func callEnd(ctx context.Context, start time.Time, budget time.Duration) time.Time {
	end := start.Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Add(-deadlineMargin).Before(end) {
		end = d.Add(-deadlineMargin)
	}
	return end
}

// receive receives up to n (≤ 10) messages from queue, hidden for
// visibility, with every attribute.
func (s *Service) receive(ctx context.Context, queue string, n int, visibility time.Duration) ([]types.Message, error) {
	out, err := s.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queue),
		MaxNumberOfMessages:         int32(min(max(n, 1), 10)),
		VisibilityTimeout:           seconds(visibility),
		WaitTimeSeconds:             int32(s.cfg.ReceiveWait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// seconds rounds d up to whole seconds within SQS's visibility range.
func seconds(d time.Duration) int32 {
	d = min(max(d, 0), maxVisibility)
	return int32((d + time.Second - 1) / time.Second)
}

// setVisibility changes the visibility timeout of msgs, ten at a time. It
// returns how many it changed and the first error.
func (s *Service) setVisibility(ctx context.Context, queue string, msgs []types.Message, d time.Duration) (int, error) {
	changed := 0
	var firstErr error
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(queue)}
		for i, m := range chunk {
			in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: seconds(d),
			})
		}
		out, err := s.q.ChangeMessageVisibilityBatch(ctx, in)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		changed += len(out.Successful)
		if len(out.Failed) > 0 && firstErr == nil {
			f := out.Failed[0]
			firstErr = fmt.Errorf("%d entries failed, first: %s: %s", len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return changed, firstErr
}

// release makes msgs visible again, with a context that outlives ctx's
// cancellation so an interrupted call still gives back what it held. A
// failure is logged: the messages come back by themselves when their
// visibility timeout ends.
func (s *Service) release(ctx context.Context, queue string, msgs []types.Message) {
	if len(msgs) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if n, err := s.setVisibility(rctx, queue, msgs, 0); err != nil {
		s.log.WarnContext(ctx, "could not make messages visible again; they return when their visibility timeout ends",
			"queue", queue, "released", n, "held", len(msgs), "error", err)
	}
}

// deleteMessages deletes msgs from queue, ten at a time. It returns the ids
// deleted and an error naming how many were not.
func (s *Service) deleteMessages(ctx context.Context, queue string, msgs []types.Message) (map[string]bool, error) {
	deleted := map[string]bool{}
	var firstErr error
	failed := 0
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queue)}
		for i, m := range chunk {
			in.Entries = append(in.Entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		out, err := s.q.DeleteMessageBatch(ctx, in)
		if err != nil {
			failed += len(chunk)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, ok := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i < len(chunk) {
				deleted[aws.ToString(chunk[i].MessageId)] = true
			}
		}
		failed += len(out.Failed)
		if len(out.Failed) > 0 && firstErr == nil {
			f := out.Failed[0]
			firstErr = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	if firstErr != nil {
		return deleted, fmt.Errorf("%d of %d deletes failed: %w", failed, len(msgs), firstErr)
	}
	return deleted, nil
}

// QueueDepth is what SQS says about a queue's size. The counts are SQS's
// approximations; see the package documentation.
type QueueDepth struct {
	// Visible is ApproximateNumberOfMessages: messages ready to receive.
	Visible int `json:"visible"`
	// InFlight is ApproximateNumberOfMessagesNotVisible: messages received
	// and not yet deleted, or set aside (parked) by a replay run.
	InFlight int `json:"inFlight"`
	// Delayed is ApproximateNumberOfMessagesDelayed.
	Delayed int `json:"delayed"`
}

// depth reads a queue's approximate counts.
func (s *Service) depth(ctx context.Context, queue string) (QueueDepth, error) {
	out, err := s.q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return QueueDepth{}, err
	}
	n := func(name types.QueueAttributeName) int {
		v, _ := strconv.Atoi(out.Attributes[string(name)])
		return v
	}
	return QueueDepth{
		Visible:  n(types.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// maxMessageSize reads a queue's MaximumMessageSize.
func (s *Service) maxMessageSize(ctx context.Context, queue string) (int, error) {
	out, err := s.q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queue),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameMaximumMessageSize},
	})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])
	if err != nil || n < envelope.MinMessageBytes {
		return 0, fmt.Errorf("queue %s reports MaximumMessageSize %q", queue, out.Attributes[string(types.QueueAttributeNameMaximumMessageSize)])
	}
	return n, nil
}
