package replay

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Sampling bounds.
const (
	// DefaultSample is how many DLQ messages Status looks at.
	DefaultSample = 100
	// MaxSample bounds Status's sample.
	MaxSample = 1000
	// DefaultPeek is how many messages Peek returns.
	DefaultPeek = 10
	// MaxPeek bounds Peek.
	MaxPeek = 100
	// sampleVisibility hides sampled messages while the sample is taken; if
	// the caller dies, they are back after this long.
	sampleVisibility = 30 * time.Second
)

// Status describes the dead-letter queue.
type Status struct {
	// Queue is the DLQ's URL.
	Queue string `json:"queue"`
	QueueDepth
	// Sampled is how many messages were looked at; the fields below
	// describe them.
	Sampled int `json:"sampled"`
	// SampleComplete says the sample holds every message that was visible,
	// so the figures below are exact for them.
	SampleComplete bool `json:"sampleComplete"`
	// Records is the sum of the sampled envelopes' record counts.
	Records int `json:"records"`
	// OldestFirstFailure is the earliest first failure in the sample (zero
	// when the sample is empty), and OldestAgeSeconds its age.
	OldestFirstFailure time.Time `json:"oldestFirstFailure"`
	OldestAgeSeconds   float64   `json:"oldestAgeSeconds"`
	// ByReason counts the sampled messages by failure reason, most first.
	ByReason []ReasonCount `json:"byReason"`
	// Parked counts sampled messages the next re-drive would park (replay
	// limit reached, or too old). Messages a run parked are hidden until it
	// ends, so they are in InFlight, not here.
	Parked int `json:"parked"`
	// MaxReplays is the replay limit Parked was counted with.
	MaxReplays int `json:"maxReplays"`
	// IngestFailures is the ingest failure queue's depth, nil when none is
	// configured.
	IngestFailures *QueueDepth `json:"ingestFailures,omitempty"`
}

// ReasonCount is how many sampled messages (and records) share a reason.
type ReasonCount struct {
	Reason   string `json:"reason"`
	Messages int    `json:"messages"`
	Records  int    `json:"records"`
}

// Status reads the DLQ's depth from its attributes and samples up to sample
// messages (DefaultSample when 0) for what SQS does not say: the age of the
// oldest message, reasons and parked messages. Sampled messages are received
// with a short visibility timeout and made visible again before Status
// returns, so a re-drive running at the same moment may briefly not see
// them. It returns an error of KindInvalid or KindUnavailable.
func (s *Service) Status(ctx context.Context, sample int) (Status, error) {
	if sample < 0 || sample > MaxSample {
		return Status{}, invalid("sample must be between 0 and %d messages", MaxSample)
	}
	sample = cmp.Or(sample, DefaultSample)
	st := Status{Queue: s.cfg.Queues.DLQ, ByReason: []ReasonCount{}, MaxReplays: s.cfg.Limits.MaxReplays}
	d, err := s.depth(ctx, s.cfg.Queues.DLQ)
	if err != nil {
		return st, unavailable("reading the dead-letter queue's attributes failed", err)
	}
	st.QueueDepth = d
	if s.cfg.Queues.IngestFailure != "" {
		fd, err := s.depth(ctx, s.cfg.Queues.IngestFailure)
		if err != nil {
			return st, unavailable("reading the ingest failure queue's attributes failed", err)
		}
		st.IngestFailures = &fd
	}

	msgs, complete, err := s.sample(ctx, sample)
	if err != nil {
		return st, err
	}
	now := s.now()
	st.Sampled, st.SampleComplete = len(msgs), complete
	byReason := map[string]*ReasonCount{}
	for _, m := range msgs {
		r := reason(m)
		rc := byReason[r]
		if rc == nil {
			rc = &ReasonCount{Reason: r}
			byReason[r] = rc
		}
		rc.Messages++
		rc.Records += records(m)
		st.Records += records(m)
		if t := firstFailure(m); !t.IsZero() && (st.OldestFirstFailure.IsZero() || t.Before(st.OldestFirstFailure)) {
			st.OldestFirstFailure = t
		}
		if parkReason(m, s.cfg.Limits, now) != "" {
			st.Parked++
		}
	}
	if !st.OldestFirstFailure.IsZero() {
		st.OldestAgeSeconds = now.Sub(st.OldestFirstFailure).Round(time.Second).Seconds()
	}
	for _, k := range slices.SortedFunc(maps.Keys(byReason), func(a, b string) int {
		return cmp.Or(cmp.Compare(byReason[b].Messages, byReason[a].Messages), cmp.Compare(a, b))
	}) {
		st.ByReason = append(st.ByReason, *byReason[k])
	}
	return st, nil
}

// Peek returns up to limit DLQ messages (DefaultPeek when 0) with their
// attributes and a summary of their records, without consuming them: they
// are made visible again before Peek returns. It returns an error of
// KindInvalid or KindUnavailable.
func (s *Service) Peek(ctx context.Context, limit int) ([]Message, error) {
	if limit < 0 || limit > MaxPeek {
		return nil, invalid("limit must be between 0 and %d messages", MaxPeek)
	}
	msgs, _, err := s.sample(ctx, cmp.Or(limit, DefaultPeek))
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, s.describe(m, now))
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.FirstFailure.Compare(b.FirstFailure) })
	return out, nil
}

// sample receives up to n DLQ messages with a short visibility, then makes
// them visible again. complete says the queue had no more visible messages.
func (s *Service) sample(ctx context.Context, n int) (msgs []types.Message, complete bool, err error) {
	defer func() { s.release(ctx, s.cfg.Queues.DLQ, msgs) }()
	seen := map[string]int{}
	for len(msgs) < n {
		got, err := s.receive(ctx, s.cfg.Queues.DLQ, n-len(msgs), sampleVisibility)
		if err != nil {
			return msgs, false, unavailable("receiving from the dead-letter queue failed", err)
		}
		if len(got) == 0 {
			return msgs, true, nil
		}
		for _, m := range got {
			// A standard queue may deliver a message twice: count it once,
			// keeping the latest receipt handle, the one that can release it.
			if i, dup := seen[aws.ToString(m.MessageId)]; dup {
				msgs[i] = m
				continue
			}
			seen[aws.ToString(m.MessageId)] = len(msgs)
			msgs = append(msgs, m)
		}
	}
	return msgs, false, nil
}
