package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
)

// sendAttempts is how often a batch entry SQS fails on its side is offered
// again (SDK retries come on top).
const sendAttempts = 4

// lastFailureAttrs describe the latest failure only; forward writes them
// again if the records fail again, so a copy that would not fit the traffic
// queue sheds them first.
var lastFailureAttrs = []string{forward.AttrFailureReason, forward.AttrFailureStatus, forward.AttrAttempts}

// errNoFit means a message cannot be copied to the traffic queue.
var errNoFit = errors.New("does not fit in the traffic queue")

// unit is one DLQ message being moved, and the traffic messages it becomes.
type unit struct {
	m       types.Message
	entries []types.SendMessageBatchRequestEntry
	split   bool
	sent    int
	fault   string // why SQS refused an entry, for a sender fault
}

// move copies msgs to the traffic queue and deletes the ones whose copies
// were all accepted. Messages that cannot be copied are set aside for the
// run (returned, so a releasing run gives them back) and counted as failed.
// It returns an error, after releasing what it could not finish, when SQS
// is unavailable or the deletes fail.
func (s *Service) move(ctx context.Context, msgs []types.Message, limit int, hideFor time.Duration, res *RedriveResult) (held []types.Message, err error) {
	units := make([]*unit, 0, len(msgs))
	for _, m := range msgs {
		entries, split, err := s.copies(m, limit)
		if err != nil {
			res.Failed++
			held = append(held, m)
			s.log.WarnContext(ctx, "message cannot be re-driven; it stays in the DLQ", "messageId", aws.ToString(m.MessageId), "error", err)
			continue
		}
		units = append(units, &unit{m: m, entries: entries, split: split})
	}

	sendErr := s.sendUnits(ctx, units, limit)

	var done, refused, unsent []types.Message
	byID := map[string]*unit{}
	for _, u := range units {
		byID[aws.ToString(u.m.MessageId)] = u
		switch {
		case u.sent == len(u.entries):
			done = append(done, u.m)
		case u.fault != "":
			refused = append(refused, u.m)
			res.Failed++
			s.log.WarnContext(ctx, "SQS refused a copy; the message stays in the DLQ", "messageId", aws.ToString(u.m.MessageId), "error", u.fault)
		default:
			// Some or none of its copies went out: the message stays, and a
			// later replay duplicates the part already sent.
			unsent = append(unsent, u.m)
		}
	}
	held = append(held, refused...)
	if len(held) > 0 {
		if _, err := s.setVisibility(ctx, s.cfg.Queues.DLQ, held, hideFor); err != nil {
			s.log.WarnContext(ctx, "could not set failed messages aside; this run may try them again", "error", err)
		}
	}

	deleted, delErr := s.deleteMessages(ctx, s.cfg.Queues.DLQ, done)
	for _, m := range done {
		u := byID[aws.ToString(m.MessageId)]
		res.Sent += len(u.entries)
		if !deleted[aws.ToString(m.MessageId)] {
			res.NotDeleted++
			continue
		}
		res.Moved++
		res.Records += records(m)
		if u.split {
			res.Split++
		}
	}
	if delErr != nil {
		s.release(ctx, s.cfg.Queues.DLQ, unsent)
		return held, unavailable("deleting re-driven messages from the dead-letter queue failed (their copies were sent, so a later replay duplicates them; the node drops duplicates)", delErr)
	}
	if sendErr != nil {
		s.release(ctx, s.cfg.Queues.DLQ, unsent)
		return held, unavailable("sending to the traffic queue failed", sendErr)
	}
	return held, nil
}

// copies returns the traffic queue messages m becomes: normally one, a copy
// with gwtap-replay-count incremented and every other attribute kept. A copy
// larger than limit drops the last failure's detail attributes, and if still
// too large its records are re-packed into smaller envelopes (split).
func (s *Service) copies(m types.Message, limit int) (entries []types.SendMessageBatchRequestEntry, split bool, err error) {
	body := aws.ToString(m.Body)
	attrs := copyAttrs(m)
	if size(body, attrs) > limit {
		for _, name := range lastFailureAttrs {
			delete(attrs, name)
		}
	}
	if size(body, attrs) <= limit {
		return []types.SendMessageBatchRequestEntry{{MessageBody: aws.String(body), MessageAttributes: attrs}}, false, nil
	}

	if err := envelope.Check(attr(m, envelope.AttrVersion), attr(m, envelope.AttrEncoding)); err != nil {
		return nil, false, fmt.Errorf("%w: %d bytes and not an envelope that can be split: %w", errNoFit, size(body, attrs), err)
	}
	ndjson, err := s.opener.Open(body)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %d bytes and cannot be split: %w", errNoFit, size(body, attrs), err)
	}
	own := maps.Clone(attrs)
	for name := range (envelope.Message{}).Attributes() {
		delete(own, name)
	}
	p, err := envelope.NewPacker(limit - size("", own))
	if err != nil {
		return nil, false, fmt.Errorf("%w: no room for records beside the attributes: %w", errNoFit, err)
	}
	var packed []byte
	var ends []int
	for _, line := range envelope.Lines(ndjson) {
		packed = append(append(packed, line...), '\n')
		ends = append(ends, len(packed))
	}
	pieces, tooLarge := p.Pack(packed, ends)
	if tooLarge > 0 {
		return nil, false, fmt.Errorf("%w: %d record(s) are larger than the traffic queue's limit of %d bytes even alone", errNoFit, tooLarge, limit)
	}
	for _, piece := range pieces {
		a := maps.Clone(own)
		for name, v := range piece.Attributes() {
			a[name] = types.MessageAttributeValue{DataType: aws.String(v[0]), StringValue: aws.String(v[1])}
		}
		entries = append(entries, types.SendMessageBatchRequestEntry{MessageBody: aws.String(piece.Body), MessageAttributes: a})
	}
	return entries, true, nil
}

// copyAttrs returns m's attributes for its copy: all kept, the replay count
// incremented, and the original message id and first failure time added
// when missing (a message SQS moved by its redrive policy has neither), so
// a later failure of the copy keeps them.
func copyAttrs(m types.Message) map[string]types.MessageAttributeValue {
	out := make(map[string]types.MessageAttributeValue, len(m.MessageAttributes)+3)
	for name, a := range m.MessageAttributes {
		out[name] = types.MessageAttributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	out[forward.AttrReplayCount] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(replayCount(m) + 1))}
	add := func(name, value string) {
		if _, ok := out[name]; !ok && value != "" && len(out) < maxAttributes {
			out[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	add(forward.AttrOriginalMessageID, aws.ToString(m.MessageId))
	if t := sentAt(m); !t.IsZero() {
		add(forward.AttrFirstFailure, t.UTC().Format(firstFailureLayout))
	}
	return out
}

// size is what SQS counts against its message size limit: the body and
// each attribute's name, data type and value.
func size(body string, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for name, a := range attrs {
		n += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
	}
	return n
}

// sendUnits sends every unit's entries in SendMessageBatch calls of at most
// ten entries and limit bytes, recording in each unit what went out. It
// stops at the first batch SQS does not take after retries, and returns
// that error.
func (s *Service) sendUnits(ctx context.Context, units []*unit, limit int) error {
	type ref struct {
		u *unit
		i int
	}
	var batch []ref
	bytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for k, r := range batch {
			entries[k] = r.u.entries[r.i]
		}
		ok, faults, err := s.sendBatch(ctx, entries)
		for k, r := range batch {
			if ok[k] {
				r.u.sent++
			} else if faults[k] != "" {
				r.u.fault = faults[k]
			}
		}
		batch, bytes = batch[:0], 0
		return err
	}
	for _, u := range units {
		for i, e := range u.entries {
			n := size(aws.ToString(e.MessageBody), e.MessageAttributes)
			if len(batch) == 10 || (len(batch) > 0 && bytes+n > limit) {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, ref{u, i})
			bytes += n
		}
	}
	return flush()
}

// sendBatch sends entries to the traffic queue, offering again those SQS
// fails on its side. ok marks the entries accepted; faults holds SQS's
// reason for entries it refused as the sender's fault (not retried). The
// error says why some entries are neither.
func (s *Service) sendBatch(ctx context.Context, entries []types.SendMessageBatchRequestEntry) (ok []bool, faults []string, err error) {
	ok = make([]bool, len(entries))
	faults = make([]string, len(entries))
	pending := map[string]int{}
	for i := range entries {
		pending[strconv.Itoa(i)] = i
	}
	var lastErr error
	for attempt := 0; attempt < sendAttempts && len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := s.retry.Wait(ctx, s.retry.Delay(attempt-1)); err != nil {
				return ok, faults, fmt.Errorf("waiting to retry (last error: %w): %w", lastErr, err)
			}
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.cfg.Queues.Traffic)}
		for _, id := range slices.Sorted(maps.Keys(pending)) {
			e := entries[pending[id]]
			e.Id = aws.String(id)
			in.Entries = append(in.Entries, e)
		}
		out, err := s.q.SendMessageBatch(ctx, in)
		if err != nil {
			lastErr = err
			continue
		}
		for _, r := range out.Successful {
			if i, found := pending[aws.ToString(r.Id)]; found {
				ok[i] = true
				delete(pending, aws.ToString(r.Id))
			}
		}
		for _, f := range out.Failed {
			i, found := pending[aws.ToString(f.Id)]
			if !found {
				continue
			}
			why := cmp.Or(aws.ToString(f.Code), "error") + ": " + aws.ToString(f.Message)
			if f.SenderFault {
				faults[i] = why
				delete(pending, aws.ToString(f.Id))
				continue
			}
			lastErr = errors.New(why)
		}
	}
	if len(pending) > 0 {
		return ok, faults, fmt.Errorf("%d message(s) not accepted after %d attempts: %w", len(pending), sendAttempts, lastErr)
	}
	return ok, faults, nil
}
