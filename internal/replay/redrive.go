package replay

import (
	"cmp"
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/metrics"
)

// DefaultBudget is how long one Redrive or Reingest call may run when the
// options give no budget (the context's deadline still applies).
const DefaultBudget = 5 * time.Minute

// setAsideMargin keeps parked and skipped messages hidden a little past the
// end of the run, so its last page cannot see them again.
const setAsideMargin = time.Minute

// logSamples bounds the per-message log lines one call writes.
const logSamples = 10

// Why a Redrive or Reingest call stopped.
const (
	// StopEmpty: no visible message was left to look at.
	StopEmpty = "empty"
	// StopLimit: the call's Max was reached.
	StopLimit = "limit"
	// StopBudget: the call's time budget was spent.
	StopBudget = "budget"
	// StopDeadline: the whole run's deadline passed.
	StopDeadline = "deadline"
)

// RedriveOptions bound one Redrive call. The zero value re-drives every
// message at the configured rate for DefaultBudget.
type RedriveOptions struct {
	// DryRun looks at messages and counts what would happen, changing
	// nothing: every message seen is made visible again at the end.
	DryRun bool
	// Max is the most DLQ messages to move; 0 means no limit.
	Max int
	// Rate is DLQ messages moved per second; 0 means the configured rate.
	Rate float64
	// Reason re-drives only messages whose failure reason contains it
	// (ignoring case; ReasonMaxReceives selects those SQS moved itself);
	// the others are skipped.
	Reason string
	// Budget is how long this call may run; 0 means DefaultBudget.
	Budget time.Duration
	// Deadline is when the whole run ends, for a run made of several calls
	// (the state machine's pages); zero means the end of this call.
	// Messages set aside (parked, skipped) stay hidden until just after it.
	Deadline time.Time
	// MaxReplays and MaxAge override the configured limits when not zero.
	MaxReplays int
	MaxAge     time.Duration
	// Release makes the messages set aside visible again when the call
	// ends: for a run that is a single call (the CLI, the admin API).
	Release bool
	// Progress, when set, is called with the running totals after each
	// batch.
	Progress func(RedriveResult)
}

// RedriveResult is what a Redrive call did. In a dry run, Moved and Records
// count what would have been moved.
type RedriveResult struct {
	DryRun bool `json:"dryRun"`
	// Received counts DLQ messages looked at.
	Received int `json:"received"`
	// Moved counts DLQ messages copied to the traffic queue and deleted.
	Moved int `json:"moved"`
	// Records counts the records in the moved messages.
	Records int `json:"records"`
	// Sent counts traffic queue messages sent: more than Moved when
	// messages too large for the traffic queue were split.
	Sent int `json:"sent"`
	// Split counts DLQ messages re-packed into smaller ones.
	Split int `json:"split"`
	// Parked counts messages left in the DLQ because their replay limit was
	// reached or they were too old.
	Parked int `json:"parked"`
	// Skipped counts messages whose reason did not match the filter.
	Skipped int `json:"skipped"`
	// Failed counts messages that could not be copied (refused by SQS, or
	// a record too large for the traffic queue even alone); they stay in
	// the DLQ.
	Failed int `json:"failed"`
	// NotDeleted counts messages copied but not deleted from the DLQ: they
	// will be re-driven again, and the node will drop the duplicates.
	NotDeleted int `json:"notDeleted"`
	// Stop is why the call ended (Stop*), empty when it failed.
	Stop           string  `json:"stop"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
}

// check validates o.
func (o RedriveOptions) check() error {
	switch {
	case o.Max < 0:
		return invalid("max must not be negative")
	case o.Rate < 0 || o.Rate > 10000:
		return invalid("rate must be between 0 and 10000 messages per second")
	case o.Budget < 0 || o.Budget > maxVisibility:
		return invalid("budget must be between 0 and 12h")
	case o.MaxReplays < 0 || o.MaxReplays > 1000:
		return invalid("maxReplays must be between 0 and 1000")
	case o.MaxAge < 0:
		return invalid("maxAge must not be negative")
	case len(o.Reason) > 512:
		return invalid("reason filter is longer than 512 bytes")
	}
	return nil
}

// Redrive moves messages from the DLQ back to the traffic queue: each is
// copied with gwtap-replay-count incremented and its other attributes kept,
// and deleted from the DLQ only after SQS accepted the copy, so a failure
// at any point leaves a duplicate (dropped by the node), never a loss.
//
// Messages whose replay count reached the limit, or older than the maximum
// age, are parked: left in the DLQ, hidden until the run ends so the run
// does not see them again, counted, and reported in the MessagesParked
// metric. Messages the reason filter excludes are hidden the same way and
// counted as skipped.
//
// The call ends when the DLQ has no visible message left, Max messages were
// moved, the budget is spent or the run's deadline passed; Stop says which.
// It returns the result so far with an error of KindInvalid or
// KindUnavailable when it cannot go on.
func (s *Service) Redrive(ctx context.Context, o RedriveOptions) (res RedriveResult, err error) {
	if err := o.check(); err != nil {
		return res, err
	}
	limits := s.cfg.Limits
	limits.MaxReplays = cmp.Or(o.MaxReplays, limits.MaxReplays)
	limits.MaxAge = cmp.Or(o.MaxAge, limits.MaxAge)
	rate := cmp.Or(o.Rate, limits.Rate)
	start := s.now()
	end := callEnd(ctx, start, cmp.Or(o.Budget, DefaultBudget))
	runEnd := cmp.Or(o.Deadline, end)
	hideFor := min(max(runEnd.Sub(start)+setAsideMargin, time.Second), maxVisibility)
	dlq := s.cfg.Queues.DLQ
	res.DryRun = o.DryRun
	log := s.log.With("dlq", dlq, "dryRun", o.DryRun)

	var aside []types.Message
	defer func() {
		if o.DryRun || o.Release {
			s.release(ctx, dlq, aside)
		}
		res.ElapsedSeconds = s.now().Sub(start).Round(time.Millisecond).Seconds()
		if !o.DryRun {
			s.writeMetrics(ctx, map[string]float64{
				"MessagesReplayed": float64(res.Moved), "RecordsReplayed": float64(res.Records),
				"MessagesParked": float64(res.Parked), "MessagesSkipped": float64(res.Skipped),
				"ReplayFailures": float64(res.Failed), "ReplayNotDeleted": float64(res.NotDeleted),
			})
		}
		log.InfoContext(ctx, "re-drive ended", "received", res.Received, "moved", res.Moved, "records", res.Records,
			"parked", res.Parked, "skipped", res.Skipped, "failed", res.Failed, "notDeleted", res.NotDeleted,
			"stop", res.Stop, "error", err)
	}()

	limit, err := s.maxMessageSize(ctx, s.cfg.Queues.Traffic)
	if err != nil {
		return res, unavailable("reading the traffic queue's attributes failed", err)
	}
	batch := 10
	if rate > 0 {
		// A batch is at most a second's worth, so the rate holds over short
		// spans too.
		batch = min(batch, max(1, int(rate)))
	}
	paced, logged := 0, 0
	for {
		if o.Max > 0 && res.Moved+res.Failed >= o.Max {
			res.Stop = StopLimit
			return res, nil
		}
		// Wait for the rate before receiving, so messages are not held
		// while waiting.
		next := start
		if rate > 0 && !o.DryRun {
			next = start.Add(time.Duration(float64(paced) / rate * float64(time.Second)))
		}
		now := s.now()
		switch {
		case !o.Deadline.IsZero() && !now.Before(o.Deadline):
			res.Stop = StopDeadline
			return res, nil
		case !now.Before(end), next.After(end):
			res.Stop = StopBudget
			return res, nil
		}
		if err := sleepUntil(ctx, next, now); err != nil {
			return res, unavailable("the re-drive was interrupted", err)
		}
		n := batch
		if o.Max > 0 {
			n = min(n, o.Max-res.Moved-res.Failed)
		}
		msgs, err := s.receive(ctx, dlq, n, s.cfg.ReceiveVisibility)
		if err != nil {
			return res, unavailable("receiving from the dead-letter queue failed", err)
		}
		if len(msgs) == 0 {
			res.Stop = StopEmpty
			return res, nil
		}
		res.Received += len(msgs)
		var eligible, hide []types.Message
		for _, m := range msgs {
			switch pr := parkReason(m, limits, now); {
			case !matchesReason(m, o.Reason):
				res.Skipped++
				hide = append(hide, m)
			case pr != "":
				res.Parked++
				hide = append(hide, m)
				if logged++; logged <= logSamples {
					log.WarnContext(ctx, "message parked", "messageId", aws.ToString(m.MessageId), "reason", reason(m),
						"replayCount", replayCount(m), "why", pr)
				}
			case o.DryRun:
				res.Moved++
				res.Records += records(m)
				hide = append(hide, m)
			default:
				eligible = append(eligible, m)
			}
		}
		if len(hide) > 0 {
			if _, err := s.setVisibility(ctx, dlq, hide, hideFor); err != nil {
				log.WarnContext(ctx, "could not set messages aside; this run may count them again", "error", err)
			}
			aside = append(aside, hide...)
		}
		if len(eligible) > 0 {
			paced += len(eligible)
			held, err := s.move(ctx, eligible, limit, hideFor, &res)
			aside = append(aside, held...)
			if err != nil {
				return res, err
			}
		}
		if o.Progress != nil {
			o.Progress(res)
		}
	}
}

// sleepUntil waits until t (now being the current time), or until ctx ends.
func sleepUntil(ctx context.Context, t, now time.Time) error {
	d := t.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// writeMetrics writes one EMF line with the given counts.
func (s *Service) writeMetrics(ctx context.Context, counts map[string]float64) {
	m := metrics.New(s.cfg.Namespace, [2]string{"FunctionName", s.cfg.FunctionName})
	for _, name := range sortedKeys(counts) {
		m.Add(name, metrics.Count, counts[name])
	}
	if err := m.Write(s.metrics, s.now()); err != nil {
		s.log.WarnContext(ctx, "writing metrics", "error", err)
	}
}
