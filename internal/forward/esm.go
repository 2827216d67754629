package forward

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PollerAPI is the part of the SQS client Poller uses.
type PollerAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

var _ PollerAPI = (*sqs.Client)(nil)

// SQSHandler is a Lambda handler for SQS events with ReportBatchItemFailures,
// such as Handler.Handle.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Poller does locally what Lambda's SQS event source mapping does in AWS:
// receive a batch, invoke the handler with it as an events.SQSEvent, and
// delete the messages the handler did not report as failures. Failed
// messages are left alone, so SQS delivers them again after the visibility
// timeout and moves them to the DLQ after maxReceiveCount receives, as in
// AWS. Poll and Run are not safe for concurrent use on one Poller.
type Poller struct {
	// SQS is the queue's API; required.
	SQS PollerAPI
	// QueueURL is the queue to poll; required.
	QueueURL string
	// QueueARN and Region fill the events' EventSourceARN and AWSRegion.
	QueueARN, Region string
	// Handler is invoked with each batch; required.
	Handler SQSHandler
	// BatchSize is the most messages per invocation (BatchSize of the
	// mapping); 0 means 10.
	BatchSize int
	// BatchingWindow is how long to keep gathering messages before
	// invoking with fewer than BatchSize (MaximumBatchingWindowInSeconds);
	// 0 invokes with what one receive returns.
	BatchingWindow time.Duration
	// WaitTime is each receive's long-poll wait, whole seconds up to 20.
	WaitTime time.Duration
	// Timeout is the function timeout: each invocation's context ends
	// after it, as Lambda's deadline does; 0 means 30 s.
	Timeout time.Duration
}

// PollResult is what one Poll did.
type PollResult struct {
	// Received are the ids of the messages handed to the handler.
	Received []string
	// Deleted are the ids deleted after the invocation.
	Deleted []string
	// Failed are the ids left for redelivery.
	Failed []string
	// HandlerErr is the handler's error, when it returned one; Lambda then
	// treats the whole batch as failed.
	HandlerErr error
}

// ErrInvalidBatchItem means the handler reported a failure for a message
// that is not in the batch (or an empty id); like Lambda, Poll then treats
// the whole batch as failed.
var ErrInvalidBatchItem = errors.New("batch item failure names no message of the batch")

// Poll runs one receive–invoke–delete cycle. It returns an empty result when
// no message arrived, and an error when receiving or deleting fails (the
// handler's own error is in PollResult.HandlerErr, not returned).
func (p *Poller) Poll(ctx context.Context) (PollResult, error) {
	var res PollResult
	if p.SQS == nil || p.QueueURL == "" || p.Handler == nil {
		return res, errors.New("poller needs SQS, QueueURL and Handler")
	}
	msgs, err := p.gather(ctx)
	if err != nil || len(msgs) == 0 {
		return res, err
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	byID := make(map[string]types.Message, len(msgs))
	for i, m := range msgs {
		ev.Records[i] = p.event(m)
		byID[aws.ToString(m.MessageId)] = m
		res.Received = append(res.Received, aws.ToString(m.MessageId))
	}

	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ictx, cancel := context.WithTimeout(ctx, timeout)
	resp, herr := p.Handler(ictx, ev)
	cancel()

	failed := map[string]bool{}
	switch {
	case herr != nil:
		res.HandlerErr = herr
	default:
		for _, f := range resp.BatchItemFailures {
			if _, ok := byID[f.ItemIdentifier]; !ok {
				res.HandlerErr = fmt.Errorf("%w: %q", ErrInvalidBatchItem, f.ItemIdentifier)
				break
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var toDelete []types.Message
	for _, id := range res.Received {
		if res.HandlerErr != nil || failed[id] {
			res.Failed = append(res.Failed, id)
		} else {
			toDelete = append(toDelete, byID[id])
		}
	}
	deleted, err := p.delete(ctx, toDelete)
	res.Deleted = deleted
	return res, err
}

// Run polls until ctx ends, calling report (when not nil) after each poll
// that received messages. It returns nil when ctx ends, or the first receive
// or delete error.
func (p *Poller) Run(ctx context.Context, report func(PollResult)) error {
	for ctx.Err() == nil {
		res, err := p.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(res.Received) > 0 {
			if report != nil {
				report(res)
			}
			continue
		}
		if p.WaitTime < time.Second {
			// Without long polling an empty queue answers at once: pause, as
			// the mapping's pollers do, rather than spin.
			select {
			case <-ctx.Done():
			case <-time.After(idlePause):
			}
		}
	}
	return nil
}

// idlePause is how long Run waits after an empty receive without long polling.
const idlePause = 100 * time.Millisecond

// gather receives up to BatchSize messages, for at most BatchingWindow.
func (p *Poller) gather(ctx context.Context) ([]types.Message, error) {
	size := p.BatchSize
	if size <= 0 {
		size = 10
	}
	wait := min(int32(p.WaitTime/time.Second), 20)
	end := time.Now().Add(p.BatchingWindow)
	var msgs []types.Message
	for len(msgs) < size {
		out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.QueueURL),
			MaxNumberOfMessages:         int32(min(size-len(msgs), 10)),
			WaitTimeSeconds:             wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return msgs, fmt.Errorf("receiving from %s: %w", p.QueueURL, err)
		}
		msgs = append(msgs, out.Messages...)
		if p.BatchingWindow <= 0 || !time.Now().Before(end) {
			break
		}
		if len(out.Messages) == 0 && wait == 0 {
			// Without long polling, pause rather than spin until the window ends.
			select {
			case <-ctx.Done():
				return msgs, nil
			case <-time.After(min(50*time.Millisecond, time.Until(end))):
			}
		}
	}
	return msgs, nil
}

// event converts a received message to the form the mapping delivers.
func (p *Poller) event(m types.Message) events.SQSMessage {
	e := events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             make(map[string]string, len(m.Attributes)),
		MessageAttributes:      make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes)),
		EventSourceARN:         p.QueueARN,
		EventSource:            "aws:sqs",
		AWSRegion:              p.Region,
	}
	for k, v := range m.Attributes {
		e.Attributes[k] = v
	}
	for k, v := range m.MessageAttributes {
		e.MessageAttributes[k] = events.SQSMessageAttribute{
			StringValue:      v.StringValue,
			BinaryValue:      v.BinaryValue,
			StringListValues: v.StringListValues,
			BinaryListValues: v.BinaryListValues,
			DataType:         aws.ToString(v.DataType),
		}
	}
	return e
}

// delete deletes msgs ten at a time and returns the ids deleted.
func (p *Poller) delete(ctx context.Context, msgs []types.Message) ([]string, error) {
	var deleted []string
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL)}
		ids := make(map[string]string, len(chunk))
		for i, m := range chunk {
			id := strconv.Itoa(i)
			ids[id] = aws.ToString(m.MessageId)
			in.Entries = append(in.Entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: m.ReceiptHandle})
		}
		out, err := p.SQS.DeleteMessageBatch(ctx, in)
		if err != nil {
			return deleted, fmt.Errorf("deleting from %s: %w", p.QueueURL, err)
		}
		for _, ok := range out.Successful {
			deleted = append(deleted, ids[aws.ToString(ok.Id)])
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return deleted, fmt.Errorf("deleting from %s: %d entries failed, first: %s: %s", p.QueueURL, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return deleted, nil
}
