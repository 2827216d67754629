package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/protocol"
)

// Session is one invocation's view of the node: it carries the circuit
// breaker, so a node that keeps failing is given up on for the rest of the
// invocation instead of being retried batch after batch. Safe for concurrent
// use; open a new one per invocation.
type Session struct {
	c *Client
	// failures counts transient failures in a row; any other answer resets it.
	failures atomic.Int32
	open     atomic.Bool
}

// NewSession returns a Session with a closed breaker.
func (c *Client) NewSession() *Session { return &Session{c: c} }

// Open reports whether the breaker has opened: every later Deliver fails
// fast with ErrCircuitOpen.
func (s *Session) Open() bool { return s.open.Load() }

func (s *Session) result(err error) {
	var e *Error
	if err == nil || !errors.As(err, &e) || e.Class != Transient {
		s.failures.Store(0)
		return
	}
	if int(s.failures.Add(1)) >= s.c.cfg.BreakerThreshold && !s.open.Swap(true) {
		s.c.log.Warn("node circuit breaker opened; failing the rest of the invocation fast",
			"consecutiveFailures", s.c.cfg.BreakerThreshold, "lastError", err.Error())
	}
}

// Batch is a run of records to deliver.
type Batch struct {
	// Key identifies the batch across retries and redeliveries (for
	// example the SQS message id); parts of a split batch get Key plus
	// their record range as Idempotency-Key.
	Key string
	// Payload is the zstd-compressed NDJSON, posted as it is unless it has
	// to be split.
	Payload []byte
	// Records is the number of records in Payload, 0 when unknown.
	Records int
}

// Delivery is what became of a batch.
type Delivery struct {
	// Accepted counts records the node stored for the first time.
	Accepted int
	// Duplicates counts records the node already had.
	Duplicates int
	// Requests counts POSTs made; Retries those that repeated an earlier
	// one after a transient failure; Splits the batches halved after 413.
	Requests, Retries, Splits int
	// NodeTime sums the round trips of the POSTs that got an answer.
	NodeTime time.Duration
	// Answered counts the POSTs NodeTime covers.
	Answered int
	// Failures are records the node will never take; the caller keeps them
	// aside. Empty when Deliver returns an error: then the whole batch is
	// to be retried and nothing has been given up on.
	Failures []Failure
}

// Failure is a set of records the node refused permanently.
type Failure struct {
	// Status is the HTTP status of the refusal: 200 for a record rejected
	// in a successful answer, 0 when the node was never asked (a payload
	// that cannot be decoded to split it).
	Status int
	// Reason is the node's explanation, or the client's.
	Reason string
	// Whole is set when the failure covers the batch exactly as given, so
	// the caller can keep the original payload; Lines is then nil.
	Whole bool
	// Lines are the refused records' NDJSON lines, without newlines.
	Lines [][]byte
	// Records counts the refused records (0 when Whole and unknown).
	Records int
	// IDs are the record ids the node named, for per-record rejections.
	IDs []string
}

// part is a run of records posted as one request.
type part struct {
	key     string // Idempotency-Key
	base    string // the batch's key
	payload []byte
	lines   [][]byte // nil until decoded
	records int      // when lines is nil: the known count, 0 unknown
	first   int      // index of the first record in the whole batch
	whole   bool     // the batch as given
}

func (p *part) count() int {
	if p.lines != nil {
		return len(p.lines)
	}
	return p.records
}

// Deliver posts b to the node, retrying transient failures and splitting on
// 413, and returns what became of its records.
//
// A nil error means every record is settled: accepted, duplicate, or listed
// in Delivery.Failures. An error (always a Transient *Error, wrapping
// ErrCircuitOpen or backoff.ErrNoTime when it gave up early) means some
// records may not have reached the node and the whole batch must be
// retried later; the node drops the duplicates that causes.
func (s *Session) Deliver(ctx context.Context, b Batch) (Delivery, error) {
	var d Delivery
	root := &part{key: b.Key, base: b.Key, payload: b.Payload, records: b.Records, whole: true}
	stack := []*part{root}
	if s.c.oversized(b) {
		// The sender must never exceed the protocol's limits, so split
		// before the node has to say 413.
		parts, err := s.c.chunk(root)
		if err != nil {
			d.Failures = append(d.Failures, Failure{Reason: err.Error(), Whole: true, Records: b.Records})
			return d, nil
		}
		d.Splits++
		stack = reverse(parts)
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		a, err := s.attempt(ctx, p, &d)
		var e *Error
		switch {
		case err == nil:
			d.Accepted += a.Accepted
			d.Duplicates += a.Duplicates
			if len(a.Rejected) > 0 {
				d.Failures = append(d.Failures, s.c.rejected(p, a.Rejected)...)
			}
		case !errors.As(err, &e) || e.Class == Transient:
			d.Failures = nil
			return d, err
		case e.Class == TooLarge:
			halves, ferr := s.c.halve(p, e)
			if ferr != nil {
				d.Failures = append(d.Failures, *ferr)
				continue
			}
			d.Splits++
			stack = append(stack, halves[1], halves[0])
		default:
			d.Failures = append(d.Failures, p.failure(e.Status, e.Detail()))
		}
	}
	return d, nil
}

// attempt posts p until it gets a non-transient answer, attempts run out,
// the breaker opens, or no time is left.
func (s *Session) attempt(ctx context.Context, p *part, d *Delivery) (Answer, error) {
	var last *Error
	for i := range s.c.cfg.Attempts {
		if i > 0 {
			wait := max(s.c.cfg.Retry.Delay(i-1), last.RetryAfter)
			if err := s.c.cfg.Retry.Wait(ctx, wait); err != nil {
				return Answer{}, giveUp(last, err)
			}
			d.Retries++
		}
		if s.Open() {
			if last == nil {
				return Answer{}, &Error{Class: Transient, Err: ErrCircuitOpen}
			}
			return Answer{}, giveUp(last, ErrCircuitOpen)
		}
		if left, ok := s.c.cfg.Retry.Remaining(ctx); ok && left <= 0 {
			if last == nil {
				return Answer{}, &Error{Class: Transient, Err: backoff.ErrNoTime}
			}
			return Answer{}, giveUp(last, backoff.ErrNoTime)
		}
		d.Requests++
		a, err := s.c.Post(ctx, Batch{Key: p.key, Payload: p.payload, Records: p.count()})
		s.result(err)
		if err == nil {
			d.NodeTime += a.Took
			d.Answered++
			return a, nil
		}
		var e *Error
		if !errors.As(err, &e) {
			return Answer{}, &Error{Class: Transient, Err: err}
		}
		if e.Status != 0 {
			d.Answered++
		}
		if e.Class != Transient {
			return Answer{}, e
		}
		if errors.Is(e.Err, context.Canceled) || ctx.Err() != nil {
			return Answer{}, e
		}
		s.c.log.InfoContext(ctx, "node attempt failed", "key", p.key, "attempt", i+1, "status", e.Status, "error", e.Error())
		last = e
	}
	return Answer{}, fmt.Errorf("giving up after %d attempts: %w", s.c.cfg.Attempts, last)
}

// giveUp reports the last failure with why retrying stopped early.
func giveUp(last *Error, why error) *Error {
	e := *last
	if e.Err != nil {
		e.Err = fmt.Errorf("%w (after: %v)", why, e.Err)
	} else {
		e.Err = why
	}
	return &e
}

// failure returns p's records as one Failure.
func (p *part) failure(status int, reason string) Failure {
	if p.whole && p.lines == nil {
		return Failure{Status: status, Reason: reason, Whole: true, Records: p.records}
	}
	return Failure{Status: status, Reason: reason, Whole: p.whole, Lines: p.lines, Records: len(p.lines)}
}

// oversized reports whether b exceeds the protocol's limits as far as can
// be told without decoding: the envelope's record count, and the size the
// zstd frame header announces.
func (c *Client) oversized(b Batch) bool {
	if b.Records > protocol.MaxRecordsPerBatch {
		return true
	}
	var h zstd.Header
	return h.Decode(b.Payload) == nil && h.HasFCS && h.FrameContentSize > protocol.MaxBodyBytes
}

// decode fills p.lines from its payload.
func (c *Client) decode(p *part) error {
	if p.lines != nil {
		return nil
	}
	raw, err := c.dec.DecodeAll(p.payload, nil)
	if err != nil {
		return fmt.Errorf("decoding the zstd payload: %w", err)
	}
	p.lines = protocol.SplitLines(raw)
	return nil
}

// chunk splits p into parts within the protocol's limits.
func (c *Client) chunk(p *part) ([]*part, error) {
	if err := c.decode(p); err != nil {
		return nil, fmt.Errorf("batch exceeds the protocol limits and cannot be split: %w", err)
	}
	var parts []*part
	start, size := 0, 0
	for i, l := range p.lines {
		if i > start && (i-start == protocol.MaxRecordsPerBatch || size+len(l)+1 > protocol.MaxBodyBytes) {
			parts = append(parts, c.newPart(p, start, i))
			start, size = i, 0
		}
		size += len(l) + 1
	}
	return append(parts, c.newPart(p, start, len(p.lines))), nil
}

// halve splits p in two after a 413, or returns the Failure that ends it:
// a single record the node still finds too large, or a payload that cannot
// be decoded.
func (c *Client) halve(p *part, e *Error) ([2]*part, *Failure) {
	if err := c.decode(p); err != nil {
		f := p.failure(e.Status, fmt.Sprintf("%s; cannot split the batch: %v", e.Detail(), err))
		return [2]*part{}, &f
	}
	if len(p.lines) <= 1 {
		f := p.failure(e.Status, "record too large for the node even alone: "+e.Detail())
		return [2]*part{}, &f
	}
	mid := len(p.lines) / 2
	return [2]*part{c.newPart(p, 0, mid), c.newPart(p, mid, len(p.lines))}, nil
}

// newPart encodes records [from, to) of p's lines as a part of its own.
func (c *Client) newPart(p *part, from, to int) *part {
	lines := p.lines[from:to]
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	raw := make([]byte, 0, n)
	for _, l := range lines {
		raw = append(append(raw, l...), '\n')
	}
	first := p.first + from
	return &part{
		// The key names the range within the whole batch, so the same
		// records get the same key however the batch was split to reach them.
		key:     fmt.Sprintf("%s#%d-%d", p.base, first, p.first+to),
		base:    p.base,
		payload: c.enc.EncodeAll(raw, nil),
		lines:   lines,
		first:   first,
	}
}

// rejected turns a 200's per-record rejections into Failures, one per
// rejection. An index outside the batch or named twice is a node bug: it is
// logged and ignored, since the records it might mean were accepted.
func (c *Client) rejected(p *part, rs []protocol.Rejection) []Failure {
	if err := c.decode(p); err != nil {
		// The node read the payload but this client cannot: keep the whole
		// part aside rather than lose the rejected records; the node drops
		// the accepted ones as duplicates on replay.
		return []Failure{p.failure(http.StatusOK, fmt.Sprintf("%d record(s) rejected (first: %s), but the batch cannot be decoded to pick them out: %v", len(rs), clip(rs[0].Reason), err))}
	}
	seen := make(map[int]bool, len(rs))
	out := make([]Failure, 0, len(rs))
	for _, r := range rs {
		if r.Index < 0 || r.Index >= len(p.lines) || seen[r.Index] {
			c.log.Warn("node rejected a record index outside the batch; ignored", "key", p.key, "index", r.Index, "records", len(p.lines))
			continue
		}
		seen[r.Index] = true
		f := Failure{Status: http.StatusOK, Reason: clip(r.Reason), Lines: [][]byte{p.lines[r.Index]}, Records: 1}
		if f.Reason == "" {
			f.Reason = "rejected"
		}
		if r.ID != "" {
			f.IDs = []string{r.ID}
		}
		out = append(out, f)
	}
	return out
}

func reverse(ps []*part) []*part {
	out := make([]*part, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = p
	}
	return out
}
