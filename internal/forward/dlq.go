package forward

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envelope"
)

// Message attributes forward adds to what it sends to the dead-letter
// queue, beside the envelope's own (envelope.AttrVersion, AttrEncoding,
// AttrRecords). SQS allows ten attributes per message; these and the
// envelope's make nine.
const (
	// AttrFailureReason is why the records were refused (String): the
	// node's reason, or what was wrong with the envelope.
	AttrFailureReason = "gwtap-failure-reason"
	// AttrFailureStatus is the node's HTTP status (Number): 200 for records
	// rejected one by one in a successful answer, 0 when the node was not
	// asked (a malformed envelope) or did not answer (an untrusted
	// certificate).
	AttrFailureStatus = "gwtap-failure-status"
	// AttrAttempts is the original message's ApproximateReceiveCount
	// (Number): how many times SQS had delivered it.
	AttrAttempts = "gwtap-attempts"
	// AttrOriginalMessageID is the TrafficQueue message id the records came
	// in (String); a replayed message keeps the first one.
	AttrOriginalMessageID = "gwtap-original-message-id"
	// AttrFirstFailure is when the records first failed (String, RFC 3339
	// UTC with milliseconds); a replayed message keeps the first one.
	AttrFirstFailure = "gwtap-first-failure"
	// AttrReplayCount is how many times replay has re-driven the records
	// (Number): 0 for a first failure; a replayed message that fails again
	// keeps its count, so replay's limit holds.
	AttrReplayCount = "gwtap-replay-count"
)

// Receive attributes of the event source mapping's messages.
const (
	sysReceiveCount = "ApproximateReceiveCount"
	sysFirstReceive = "ApproximateFirstReceiveTimestamp"
)

// timeLayout is AttrFirstFailure's format.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Bounds on attribute values forward writes, so the attributes' size is
// known before packing (attrReserve).
const (
	maxReasonBytes = 512
	maxIDBytes     = 128
	// maxEnvelopeAttrBytes bounds the envelope attributes copied from a
	// malformed message.
	maxEnvelopeAttrBytes = 64
	// maxReasonGroups bounds the DLQ messages one batch's per-record
	// rejections turn into; further reasons share the last group.
	maxReasonGroups = 8
)

// attrReserve is the most the failure attributes add to a message's size.
const attrReserve = len(AttrFailureReason) + len("String") + maxReasonBytes +
	len(AttrFailureStatus) + len("Number") + 20 +
	len(AttrAttempts) + len("Number") + 20 +
	len(AttrOriginalMessageID) + len("String") + maxIDBytes +
	len(AttrFirstFailure) + len("String") + len(timeLayout) + 8 +
	len(AttrReplayCount) + len("Number") + 20

// ErrMalformed means a message is not an envelope forward can post.
var ErrMalformed = errors.New("malformed envelope")

// ErrNotPacked means rejected records could not be re-packed for the DLQ;
// the original message is then left to redelivery instead.
var ErrNotPacked = errors.New("rejected records do not fit in a DLQ message")

// dlqMessage is one message for the dead-letter queue.
type dlqMessage struct {
	body    string
	attrs   map[string]types.MessageAttributeValue
	records int
	reason  string
	status  int
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func numberAttr(n int) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(n))}
}

// attr returns a message attribute's string value, "" when absent.
func attr(m events.SQSMessage, name string) string {
	if a, ok := m.MessageAttributes[name]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}

// failureAttrs returns the attributes that say why m's records are in the
// DLQ, carrying over what an earlier failure recorded on a replayed message.
func failureAttrs(m events.SQSMessage, status int, reason string, now time.Time) map[string]types.MessageAttributeValue {
	receives, err := strconv.Atoi(m.Attributes[sysReceiveCount])
	if err != nil || receives < 1 {
		receives = 1
	}
	first := now
	if t, err := time.Parse(timeLayout, attr(m, AttrFirstFailure)); err == nil {
		first = t
	} else if ms, err := strconv.ParseInt(m.Attributes[sysFirstReceive], 10, 64); err == nil && receives > 1 {
		// Delivered before and not deleted: the first delivery failed.
		first = time.UnixMilli(ms)
	}
	replays, err := strconv.Atoi(attr(m, AttrReplayCount))
	if err != nil || replays < 0 {
		replays = 0
	}
	return map[string]types.MessageAttributeValue{
		AttrFailureReason:     stringAttr(sanitize(cmp.Or(reason, "unknown"), maxReasonBytes)),
		AttrFailureStatus:     numberAttr(status),
		AttrAttempts:          numberAttr(receives),
		AttrOriginalMessageID: stringAttr(sanitize(cmp.Or(attr(m, AttrOriginalMessageID), m.MessageId, "unknown"), maxIDBytes)),
		AttrFirstFailure:      stringAttr(first.UTC().Format(timeLayout)),
		AttrReplayCount:       numberAttr(replays),
	}
}

// original returns m as it came, for the DLQ: its body and envelope
// attributes unchanged, plus the failure attributes.
func original(m events.SQSMessage, records, status int, reason string, now time.Time) dlqMessage {
	attrs := failureAttrs(m, status, reason, now)
	for _, name := range []string{envelope.AttrVersion, envelope.AttrEncoding, envelope.AttrRecords} {
		a, ok := m.MessageAttributes[name]
		if !ok || a.StringValue == nil {
			continue
		}
		// SQS vetted these on the way in, but a malformed message may carry
		// anything: keep what makes a valid attribute, so the DLQ send does
		// not fail on it.
		v := sanitize(*a.StringValue, maxEnvelopeAttrBytes)
		dataType := "String"
		if a.DataType == "Number" {
			if _, err := strconv.Atoi(v); err == nil {
				dataType = "Number"
			}
		}
		if v != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(dataType), StringValue: aws.String(v)}
		}
	}
	return dlqMessage{body: m.Body, attrs: attrs, records: records, reason: reason, status: status}
}

// repack groups failures that are not Whole by status and reason, and packs
// each group as new envelopes of just those records.
func repack(p *envelope.Packer, m events.SQSMessage, failures []collector.Failure, now time.Time) ([]dlqMessage, error) {
	type group struct {
		status int
		reason string
		ndjson []byte
		ends   []int
	}
	var groups []*group
	index := map[string]*group{}
	for _, f := range failures {
		key := strconv.Itoa(f.Status) + " " + f.Reason
		g, ok := index[key]
		switch {
		case ok:
		case len(groups) < maxReasonGroups:
			g = &group{status: f.Status, reason: f.Reason}
			groups = append(groups, g)
			index[key] = g
		default:
			g = groups[len(groups)-1]
			if !strings.HasPrefix(g.reason, "several reasons") {
				g.reason = "several reasons, among them: " + g.reason
			}
		}
		for _, l := range f.Lines {
			g.ndjson = append(append(g.ndjson, bytes.TrimSpace(l)...), '\n')
			g.ends = append(g.ends, len(g.ndjson))
		}
	}
	var out []dlqMessage
	for _, g := range groups {
		msgs, tooLarge := p.Pack(g.ndjson, g.ends)
		if tooLarge > 0 {
			return nil, fmt.Errorf("%w: %d record(s) rejected with %q", ErrNotPacked, tooLarge, g.reason)
		}
		for _, em := range msgs {
			attrs := failureAttrs(m, g.status, g.reason, now)
			for name, a := range em.Attributes() {
				attrs[name] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
			}
			out = append(out, dlqMessage{body: em.Body, attrs: attrs, records: em.Records, reason: g.reason, status: g.status})
		}
	}
	return out, nil
}

// sanitize keeps only characters SQS accepts in an attribute value (XML
// 1.0's: tab, newline, carriage return, U+0020–U+D7FF, U+E000–U+FFFD,
// U+10000–U+10FFFF), replacing the rest, and cuts s to at most n bytes on a
// character boundary.
func sanitize(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		ok := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok || r == utf8.RuneError {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
