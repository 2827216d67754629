package forward

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/metrics"
)

// SQSAPI is the part of the SQS client forward uses: sending to the DLQ.
// Receiving and deleting are the event source mapping's job.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Node is the part of the collector client forward uses.
type Node interface {
	NewSession() *collector.Session
}

var _ Node = (*collector.Client)(nil)

// Handler forwards batches of TrafficQueue messages. Build one per container
// with NewHandler; it is safe for concurrent invocations.
type Handler struct {
	cfg     Config
	node    Node
	q       SQSAPI
	log     *slog.Logger
	metrics io.Writer
	packers sync.Pool // *envelope.Packer for the DLQ
	now     func() time.Time
}

// NewHandler returns a Handler posting through node, dead-lettering through
// q, logging to log and writing EMF lines to metricsOut. It returns an error
// for an invalid cfg.
func NewHandler(cfg Config, node Node, q SQSAPI, log *slog.Logger, metricsOut io.Writer) (*Handler, error) {
	limit := cfg.MaxMessageBytes - attrReserve
	if _, err := envelope.NewPacker(limit); err != nil {
		return nil, fmt.Errorf("DLQ message size %d: %w", cfg.MaxMessageBytes, err)
	}
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("concurrency %d: must be at least 1", cfg.Concurrency)
	}
	h := &Handler{cfg: cfg, node: node, q: q, log: log, metrics: metricsOut, now: time.Now}
	h.packers.New = func() any {
		p, _ := envelope.NewPacker(limit) // validated above
		return p
	}
	return h, nil
}

// outcome is what became of one message.
type outcome struct {
	failed       bool // report for redelivery
	malformed    bool
	delivered    int // records the node holds (accepted + duplicates)
	duplicates   int
	rejected     int // records dead-lettered
	deadLettered int // DLQ messages sent
	requests     int
	retries      int
	splits       int
	answered     int
	nodeTime     time.Duration
}

// Handle forwards one batch and returns the messages SQS must deliver
// again. It never returns an error: a failure is always per message, so
// that one bad message cannot make Lambda retry the whole batch.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	s := h.node.NewSession()
	outs := make([]outcome, len(ev.Records))
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outs[i] = h.forward(ctx, s, ev.Records[i])
		})
	}
	wg.Wait()

	var (
		resp events.SQSEventResponse
		tot  outcome
	)
	m := metrics.New(h.cfg.Namespace, [2]string{"FunctionName", h.cfg.FunctionName})
	for i, o := range outs {
		if o.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
		if o.malformed {
			m.Add("EnvelopesMalformed", metrics.Count, 1)
		}
		tot.delivered += o.delivered
		tot.duplicates += o.duplicates
		tot.rejected += o.rejected
		tot.deadLettered += o.deadLettered
		tot.requests += o.requests
		tot.retries += o.retries
		tot.splits += o.splits
		tot.answered += o.answered
		tot.nodeTime += o.nodeTime
	}
	m.Add("MessagesReceived", metrics.Count, float64(len(ev.Records)))
	m.Add("MessagesFailed", metrics.Count, float64(len(resp.BatchItemFailures)))
	m.Add("RecordsDelivered", metrics.Count, float64(tot.delivered))
	m.Add("Duplicates", metrics.Count, float64(tot.duplicates))
	m.Add("Retries", metrics.Count, float64(tot.retries))
	m.Add("BatchesSplit", metrics.Count, float64(tot.splits))
	m.Add("RecordsRejected", metrics.Count, float64(tot.rejected))
	m.Add("MessagesDeadLettered", metrics.Count, float64(tot.deadLettered))
	m.Add("NodeRequests", metrics.Count, float64(tot.requests))
	if tot.answered > 0 {
		// The mean per answered request: EMF keeps one value per metric
		// and line, and a sum of latencies would mean nothing.
		m.Add("NodeLatency", metrics.Milliseconds, float64(tot.nodeTime.Microseconds())/1000/float64(tot.answered))
	}
	if err := m.Write(h.metrics, h.now()); err != nil {
		h.log.WarnContext(ctx, "writing metrics", "error", err)
	}
	h.log.InfoContext(ctx, "batch forwarded",
		"messages", len(ev.Records), "failed", len(resp.BatchItemFailures), "delivered", tot.delivered,
		"duplicates", tot.duplicates, "rejected", tot.rejected, "deadLettered", tot.deadLettered,
		"requests", tot.requests, "retries", tot.retries, "breakerOpen", s.Open())
	return resp, nil
}

// forward delivers one message and dead-letters what the node refused.
func (h *Handler) forward(ctx context.Context, s *collector.Session, m events.SQSMessage) outcome {
	var o outcome
	log := h.log.With("messageId", m.MessageId, "receiveCount", m.Attributes[sysReceiveCount])
	payload, records, err := open(m)
	if err != nil {
		o.malformed = true
		log.WarnContext(ctx, "dead-lettering a malformed envelope", "error", err)
		h.deadLetter(ctx, log, []dlqMessage{original(m, records, 0, err.Error(), h.now())}, &o)
		return o
	}

	d, err := s.Deliver(ctx, collector.Batch{Key: m.MessageId, Payload: payload, Records: records})
	o.delivered, o.duplicates = d.Accepted+d.Duplicates, d.Duplicates
	o.requests, o.retries, o.splits, o.answered, o.nodeTime = d.Requests, d.Retries, d.Splits, d.Answered, d.NodeTime
	if err != nil {
		o.failed = true
		log.WarnContext(ctx, "delivery failed; SQS will redeliver the message", "error", err, "records", records)
		return o
	}
	if len(d.Failures) == 0 {
		return o
	}

	now := h.now()
	var (
		dlq    []dlqMessage
		others []collector.Failure
	)
	for _, f := range d.Failures {
		if f.Whole {
			dlq = append(dlq, original(m, f.Records, f.Status, f.Reason, now))
		} else {
			others = append(others, f)
		}
	}
	if len(others) > 0 {
		p := h.packers.Get().(*envelope.Packer)
		msgs, err := repack(p, m, others, now)
		h.packers.Put(p)
		if err != nil {
			o.failed = true
			log.ErrorContext(ctx, "cannot dead-letter rejected records; SQS will redeliver the message", "error", err)
			return o
		}
		dlq = append(dlq, msgs...)
	}
	h.deadLetter(ctx, log, dlq, &o)
	return o
}

// deadLetter sends msgs to the DLQ. Any failure marks the message for
// redelivery: its records are then still in TrafficQueue, and the DLQ copies
// already sent are duplicates the node drops on replay.
func (h *Handler) deadLetter(ctx context.Context, log *slog.Logger, msgs []dlqMessage, o *outcome) {
	for _, dm := range msgs {
		_, err := h.q.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:          aws.String(h.cfg.DLQURL),
			MessageBody:       aws.String(dm.body),
			MessageAttributes: dm.attrs,
		})
		if err != nil {
			o.failed = true
			log.ErrorContext(ctx, "dead-letter send failed; SQS will redeliver the message", "error", err)
			return
		}
		o.deadLettered++
		o.rejected += dm.records
		log.WarnContext(ctx, "records dead-lettered", "records", dm.records, "status", dm.status, "reason", dm.reason)
	}
}

// open checks m's envelope attributes and returns its compressed payload
// and record count (0 when the envelope does not say). It returns an error
// wrapping ErrMalformed, envelope.ErrUnsupported or envelope.ErrCorrupt.
func open(m events.SQSMessage) ([]byte, int, error) {
	if err := envelope.Check(attr(m, envelope.AttrVersion), attr(m, envelope.AttrEncoding)); err != nil {
		return nil, 0, fmt.Errorf("checking envelope attributes: %w", err)
	}
	records := 0
	if s := attr(m, envelope.AttrRecords); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, 0, fmt.Errorf("%w: %s=%q is not a positive record count", ErrMalformed, envelope.AttrRecords, s)
		}
		records = n
	}
	payload, err := envelope.Compressed(m.Body)
	if err != nil {
		return nil, records, fmt.Errorf("reading envelope body: %w", err)
	}
	// Checking the frame header costs nothing and keeps garbage from the
	// node; the payload itself is decoded by the node, not here.
	var hdr zstd.Header
	if err := hdr.Decode(payload); err != nil {
		return nil, records, fmt.Errorf("%w: %w: body is not a zstd frame: %v", ErrMalformed, envelope.ErrCorrupt, err)
	}
	return payload, records, nil
}
