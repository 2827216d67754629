package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// reingestVisibility hides an ingest failure message while it is
// re-ingested: one event can carry a megabyte of compressed log lines.
const reingestVisibility = 5 * time.Minute

// ReingestOptions bound one Reingest call.
type ReingestOptions struct {
	// DryRun checks which messages could be re-ingested, changing nothing.
	DryRun bool
	// Max is the most messages to re-ingest; 0 means no limit.
	Max int
	// Budget is how long the call may run; 0 means DefaultBudget.
	Budget time.Duration
	// Release makes the messages set aside visible again when the call ends.
	Release bool
}

// ReingestResult is what a Reingest call did.
type ReingestResult struct {
	DryRun bool `json:"dryRun"`
	// Received counts messages looked at.
	Received int `json:"received"`
	// Reingested counts events ingested again and deleted (in a dry run:
	// that could be).
	Reingested int `json:"reingested"`
	// Records counts the records enqueued on the traffic queue.
	Records int `json:"records"`
	// Failed counts events ingest failed on again; they stay in the queue.
	Failed int `json:"failed"`
	// Unusable counts messages that hold no CloudWatch Logs event (an
	// invocation record whose payload Lambda left out); they stay in the
	// queue for an operator.
	Unusable       int     `json:"unusable"`
	Stop           string  `json:"stop"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
}

// errUnusable means a message holds no subscription event.
var errUnusable = errors.New("holds no CloudWatch Logs subscription event")

// invocationRecord is what Lambda sends to an asynchronous invocation's
// OnFailure destination: the original event is requestPayload. A plain
// event (from a dead-letter queue rather than a destination) is accepted
// too.
type invocationRecord struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage               `json:"requestPayload"`
	AWSLogs        *events.CloudwatchLogsRawData `json:"awslogs"`
}

// subscriptionEvent extracts the CloudWatch Logs event from a message body.
func subscriptionEvent(body string) (events.CloudwatchLogsEvent, invocationRecord, error) {
	var rec invocationRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return events.CloudwatchLogsEvent{}, rec, errUnusable
	}
	var ev events.CloudwatchLogsEvent
	switch {
	case len(rec.RequestPayload) > 0 && !bytes.Equal(rec.RequestPayload, []byte("null")):
		if err := json.Unmarshal(rec.RequestPayload, &ev); err != nil {
			return ev, rec, errUnusable
		}
	case rec.AWSLogs != nil:
		ev.AWSLogs = *rec.AWSLogs
	}
	if ev.AWSLogs.Data == "" {
		return ev, rec, errUnusable
	}
	return ev, rec, nil
}

// Reingest runs the raw CloudWatch Logs events kept in the ingest failure
// queue through ingest again, deleting each message once its records are
// enqueued. Events ingest fails on again, and messages holding no event,
// stay in the queue, hidden until the call ends. It returns an error of
// KindNotConfigured without an ingest failure queue or ingest handler, and
// KindInvalid or KindUnavailable otherwise.
func (s *Service) Reingest(ctx context.Context, o ReingestOptions) (res ReingestResult, err error) {
	queue := s.cfg.Queues.IngestFailure
	if queue == "" || s.ingest == nil {
		return res, &Error{Kind: KindNotConfigured, Msg: "re-ingest is not configured (no ingest failure queue)"}
	}
	if o.Max < 0 || o.Budget < 0 || o.Budget > maxVisibility {
		return res, invalid("max must not be negative and budget must be between 0 and 12h")
	}
	start := s.now()
	end := callEnd(ctx, start, cmp.Or(o.Budget, DefaultBudget))
	hideFor := min(end.Sub(start)+setAsideMargin, maxVisibility)
	res.DryRun = o.DryRun
	log := s.log.With("queue", queue, "dryRun", o.DryRun)
	var aside []types.Message
	defer func() {
		if o.DryRun || o.Release {
			s.release(ctx, queue, aside)
		}
		res.ElapsedSeconds = s.now().Sub(start).Round(time.Millisecond).Seconds()
		if !o.DryRun {
			s.writeMetrics(ctx, map[string]float64{
				"EventsReingested": float64(res.Reingested), "ReingestFailures": float64(res.Failed),
				"ReingestUnusable": float64(res.Unusable),
			})
		}
		log.InfoContext(ctx, "re-ingest ended", "received", res.Received, "reingested", res.Reingested,
			"records", res.Records, "failed", res.Failed, "unusable", res.Unusable, "stop", res.Stop, "error", err)
	}()

	for {
		switch {
		case o.Max > 0 && res.Reingested+res.Failed+res.Unusable >= o.Max:
			res.Stop = StopLimit
			return res, nil
		case !s.now().Before(end):
			res.Stop = StopBudget
			return res, nil
		}
		n := 10
		if o.Max > 0 {
			n = min(n, o.Max-res.Reingested-res.Failed-res.Unusable)
		}
		msgs, err := s.receive(ctx, queue, n, reingestVisibility)
		if err != nil {
			return res, unavailable("receiving from the ingest failure queue failed", err)
		}
		if len(msgs) == 0 {
			res.Stop = StopEmpty
			return res, nil
		}
		res.Received += len(msgs)
		var done, hide []types.Message
		for _, m := range msgs {
			ev, rec, err := subscriptionEvent(aws.ToString(m.Body))
			mlog := log.With("messageId", aws.ToString(m.MessageId), "requestId", rec.RequestContext.RequestID)
			switch {
			case err != nil:
				res.Unusable++
				hide = append(hide, m)
				mlog.WarnContext(ctx, "message left in the ingest failure queue", "error", err)
				continue
			case o.DryRun:
				res.Reingested++
				hide = append(hide, m)
				continue
			}
			r, err := s.ingest.Handle(ctx, ev)
			if err != nil {
				res.Failed++
				hide = append(hide, m)
				mlog.WarnContext(ctx, "re-ingest failed; the event stays in the queue", "error", err)
				continue
			}
			res.Records += r.Stats.Enqueued
			done = append(done, m)
		}
		if len(hide) > 0 {
			if _, err := s.setVisibility(ctx, queue, hide, hideFor); err != nil {
				log.WarnContext(ctx, "could not set messages aside; this call may see them again", "error", err)
			}
			aside = append(aside, hide...)
		}
		deleted, err := s.deleteMessages(ctx, queue, done)
		res.Reingested += len(deleted)
		if err != nil {
			return res, unavailable("deleting re-ingested events failed (their records were enqueued, so a later re-ingest duplicates them; the node drops duplicates)", err)
		}
	}
}
