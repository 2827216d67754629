package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/metrics"
)

// SQSAPI is the part of the SQS client ingest uses.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// ErrNotEnqueued means some envelopes could not be sent to the traffic
// queue; the invocation fails so that Lambda retries the delivery.
var ErrNotEnqueued = errors.New("envelopes not enqueued")

// sendConcurrency bounds SendMessageBatch calls in flight per invocation.
const sendConcurrency = 4

// Handler handles subscription deliveries. Build one per container with
// NewHandler; it is safe for concurrent invocations.
type Handler struct {
	cfg     Config
	q       SQSAPI
	log     *slog.Logger
	metrics io.Writer
	retry   backoff.Policy
	pool    sync.Pool // *Pipeline
	now     func() time.Time
}

// NewHandler returns a Handler sending to q, logging to log and writing EMF
// lines to metricsOut. It returns an error for an invalid cfg.
func NewHandler(cfg Config, q SQSAPI, log *slog.Logger, metricsOut io.Writer) (*Handler, error) {
	if _, err := NewPipeline(cfg); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, q: q, log: log, metrics: metricsOut, retry: backoff.Default, now: time.Now}
	h.pool.New = func() any {
		p, _ := NewPipeline(cfg) // validated above
		return p
	}
	return h, nil
}

// SetRetryPolicy replaces the backoff policy (tests shrink it).
func (h *Handler) SetRetryPolicy(p backoff.Policy) { h.retry = p }

// Result is what one invocation did; the Lambda returns nothing, the CLI prints it.
type Result struct {
	Control bool  `json:"control,omitempty"`
	Stats   Stats `json:"stats"`
}

// Handle processes one delivery. It returns an error wrapping a cwlogs error
// for an undecodable delivery, or ErrNotEnqueued when some envelopes could
// not be sent after retries; both make Lambda retry and finally keep the raw
// event in the failure destination.
func (h *Handler) Handle(ctx context.Context, ev events.CloudwatchLogsEvent) (Result, error) {
	p := h.pool.Get().(*Pipeline)
	defer h.pool.Put(p)
	m := metrics.New(h.cfg.Namespace, [2]string{"FunctionName", h.cfg.FunctionName})
	defer func() {
		if err := m.Write(h.metrics, h.now()); err != nil {
			h.log.WarnContext(ctx, "writing metrics", "error", err)
		}
	}()

	batch, err := p.Build(ev.AWSLogs.Data)
	if err != nil {
		m.Add("PayloadsRejected", metrics.Count, 1)
		h.log.ErrorContext(ctx, "rejecting delivery", "error", err, "dataBytes", len(ev.AWSLogs.Data))
		return Result{}, err
	}
	if batch.Control {
		h.log.InfoContext(ctx, "control message acknowledged")
		return Result{Control: true}, nil
	}
	st := batch.Stats
	m.Add("LinesRead", metrics.Count, float64(st.Lines))
	m.Add("RecordsParsed", metrics.Count, float64(st.Parsed))
	m.Add("LinesUnparsed", metrics.Count, float64(st.Unparsed))
	m.Add("RecordsTooLarge", metrics.Count, float64(st.TooLarge))
	m.Add("PayloadBytes", metrics.Bytes, float64(st.DecompressedBytes))
	for _, s := range batch.Samples {
		h.log.WarnContext(ctx, "unparsed access-log line", "logGroup", batch.LogGroup, "eventId", s.EventID, "reason", s.Reason)
	}

	sent, err := h.send(ctx, batch.Messages)
	m.Add("MessagesEnqueued", metrics.Count, float64(sent.messages))
	m.Add("RecordsEnqueued", metrics.Count, float64(sent.records))
	m.Add("SendRetries", metrics.Count, float64(sent.retries))
	h.log.InfoContext(ctx, "delivery processed",
		"logGroup", batch.LogGroup, "lines", st.Lines, "parsed", st.Parsed, "unparsed", st.Unparsed,
		"messages", st.Messages, "enqueued", sent.records, "rawBytes", st.RawBytes, "bodyBytes", st.BodyBytes)
	if err != nil {
		m.Add("RecordsNotEnqueued", metrics.Count, float64(st.Enqueued-sent.records))
		h.log.ErrorContext(ctx, "enqueue failed; the delivery will be retried", "error", err)
		return Result{Stats: st}, err
	}
	return Result{Stats: st}, nil
}

type sendStats struct{ messages, records, retries int }

// send enqueues msgs in SendMessageBatch calls of at most ten entries and at
// most MaxMessageBytes in total (SQS's batch limit), a few calls at a time.
func (h *Handler) send(ctx context.Context, msgs []envelope.Message) (sendStats, error) {
	groups := group(msgs, h.cfg.MaxMessageBytes)
	var (
		mu   sync.Mutex
		tot  sendStats
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, sendConcurrency)
	)
	for _, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := h.sendGroup(ctx, g)
			mu.Lock()
			defer mu.Unlock()
			tot.messages += st.messages
			tot.records += st.records
			tot.retries += st.retries
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return tot, fmt.Errorf("%w: %d of %d messages: %w", ErrNotEnqueued, len(msgs)-tot.messages, len(msgs), errors.Join(errs...))
	}
	return tot, nil
}

// group splits msgs into SendMessageBatch-sized groups.
func group(msgs []envelope.Message, maxBytes int) [][]envelope.Message {
	var out [][]envelope.Message
	var cur []envelope.Message
	size := 0
	for _, m := range msgs {
		if len(cur) == 10 || (len(cur) > 0 && size+m.Size() > maxBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += m.Size()
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendGroup sends one group, re-offering the entries SQS failed until they
// are accepted, SQS blames the sender (a permanent error), or attempts or
// time run out.
func (h *Handler) sendGroup(ctx context.Context, msgs []envelope.Message) (sendStats, error) {
	var st sendStats
	pending := make(map[string]envelope.Message, len(msgs))
	for i, m := range msgs {
		pending[strconv.Itoa(i)] = m
	}
	var lastErr error
	for attempt := 0; attempt < h.cfg.SendAttempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			st.retries++
			if err := h.retry.Wait(ctx, h.retry.Delay(attempt-1)); err != nil {
				return st, fmt.Errorf("waiting to retry (last error: %v): %w", lastErr, err)
			}
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(h.cfg.QueueURL)}
		for id, m := range pending {
			in.Entries = append(in.Entries, entry(id, m))
		}
		out, err := h.q.SendMessageBatch(ctx, in)
		if err != nil {
			lastErr = fmt.Errorf("sending batch: %w", err)
			continue
		}
		for _, ok := range out.Successful {
			if m, found := pending[aws.ToString(ok.Id)]; found {
				st.messages++
				st.records += m.Records
				delete(pending, aws.ToString(ok.Id))
			}
		}
		for _, f := range out.Failed {
			lastErr = fmt.Errorf("entry rejected: %s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				return st, fmt.Errorf("sending batch: %w (sender fault, not retried)", lastErr)
			}
		}
	}
	if len(pending) > 0 {
		return st, fmt.Errorf("%d message(s) still failing after %d attempts: %w", len(pending), h.cfg.SendAttempts, lastErr)
	}
	return st, nil
}

func entry(id string, m envelope.Message) types.SendMessageBatchRequestEntry {
	attrs := make(map[string]types.MessageAttributeValue, 3)
	for name, a := range m.Attributes() {
		attrs[name] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
	}
	return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(m.Body), MessageAttributes: attrs}
}
