package replay

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
)

// ReasonMaxReceives labels DLQ messages without a gwtap-failure-reason: SQS
// moved them there itself, by the traffic queue's redrive policy, after
// maxReceiveCount deliveries failed transiently (the node down or slow).
const ReasonMaxReceives = "max-receive-count"

// firstFailureLayout is forward's format for gwtap-first-failure.
const firstFailureLayout = "2006-01-02T15:04:05.000Z07:00"

// SQS system attributes read from received messages.
const (
	sysSentTimestamp = "SentTimestamp"
	sysReceiveCount  = "ApproximateReceiveCount"
)

// maxAttributes is SQS's limit of message attributes per message.
const maxAttributes = 10

// attr returns a message attribute's string value, "" when absent.
func attr(m types.Message, name string) string {
	if a, ok := m.MessageAttributes[name]; ok {
		return aws.ToString(a.StringValue)
	}
	return ""
}

// reason returns why m is in the DLQ: its gwtap-failure-reason, or
// ReasonMaxReceives.
func reason(m types.Message) string {
	return cmp.Or(attr(m, forward.AttrFailureReason), ReasonMaxReceives)
}

// matchesReason reports whether m's reason contains filter, ignoring case;
// an empty filter matches everything.
func matchesReason(m types.Message, filter string) bool {
	return filter == "" || strings.Contains(strings.ToLower(reason(m)), strings.ToLower(filter))
}

// replayCount returns m's gwtap-replay-count, 0 when absent or invalid.
func replayCount(m types.Message) int {
	n, err := strconv.Atoi(attr(m, forward.AttrReplayCount))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// records returns m's gwtap-records, 0 when absent or invalid.
func records(m types.Message) int {
	n, err := strconv.Atoi(attr(m, envelope.AttrRecords))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// sentAt returns when SQS accepted m (SentTimestamp), the zero time when it
// does not say.
func sentAt(m types.Message) time.Time {
	ms, err := strconv.ParseInt(m.Attributes[sysSentTimestamp], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// firstFailure returns when m's records first failed: gwtap-first-failure
// when forward or an earlier replay wrote it, else the message's
// SentTimestamp (for a message SQS moved by its redrive policy, that is when
// the records were first enqueued: no later than their first failure).
func firstFailure(m types.Message) time.Time {
	if t, err := time.Parse(firstFailureLayout, attr(m, forward.AttrFirstFailure)); err == nil {
		return t
	}
	return sentAt(m)
}

// parkReason returns why m must be parked under limits, "" when it may be
// re-driven.
func parkReason(m types.Message, limits Limits, now time.Time) string {
	if n := replayCount(m); n >= limits.MaxReplays {
		return "replayed " + strconv.Itoa(n) + " times (limit " + strconv.Itoa(limits.MaxReplays) + ")"
	}
	if limits.MaxAge > 0 {
		if t := firstFailure(m); !t.IsZero() && now.Sub(t) > limits.MaxAge {
			return "first failed " + now.Sub(t).Round(time.Minute).String() + " ago (limit " + limits.MaxAge.String() + ")"
		}
	}
	return ""
}

// Message is one DLQ message as Peek shows it.
type Message struct {
	ID           string            `json:"id"`
	SentAt       time.Time         `json:"sentAt"`
	ReceiveCount int               `json:"receiveCount"`
	BodyBytes    int               `json:"bodyBytes"`
	Reason       string            `json:"reason"`
	Status       int               `json:"status"`
	ReplayCount  int               `json:"replayCount"`
	FirstFailure time.Time         `json:"firstFailure"`
	Attributes   map[string]string `json:"attributes"`
	// Parked says why the next re-drive would park the message, empty when
	// it would re-drive it.
	Parked string `json:"parked,omitempty"`
	// Records summarises the envelope's records; nil when it cannot be
	// decoded, and DecodeError says why.
	Records     *RecordsSummary `json:"records,omitempty"`
	DecodeError string          `json:"decodeError,omitempty"`
}

// RecordsSummary describes the records of one envelope.
type RecordsSummary struct {
	Count int `json:"count"`
	// FirstIDs are the ids of the first few records.
	FirstIDs []string `json:"firstIds"`
	// Endpoints are the most frequent "METHOD path" pairs (the template
	// when API Gateway logged one), most frequent first.
	Endpoints []EndpointCount `json:"endpoints"`
}

// EndpointCount is how many records of an envelope hit one endpoint.
type EndpointCount struct {
	Endpoint string `json:"endpoint"`
	Count    int    `json:"count"`
}

// Summary sizes.
const (
	summaryIDs       = 5
	summaryEndpoints = 5
)

// describe turns a received message into a Message, decoding its envelope.
func (s *Service) describe(m types.Message, now time.Time) Message {
	out := Message{
		ID:           aws.ToString(m.MessageId),
		SentAt:       sentAt(m),
		BodyBytes:    len(aws.ToString(m.Body)),
		Reason:       reason(m),
		ReplayCount:  replayCount(m),
		FirstFailure: firstFailure(m),
		Attributes:   make(map[string]string, len(m.MessageAttributes)),
		Parked:       parkReason(m, s.cfg.Limits, now),
	}
	out.ReceiveCount, _ = strconv.Atoi(m.Attributes[sysReceiveCount])
	out.Status, _ = strconv.Atoi(attr(m, forward.AttrFailureStatus))
	for name, a := range m.MessageAttributes {
		if a.StringValue != nil {
			out.Attributes[name] = *a.StringValue
		} else {
			out.Attributes[name] = "(" + aws.ToString(a.DataType) + ", " + strconv.Itoa(len(a.BinaryValue)) + " bytes)"
		}
	}
	sum, err := s.summarise(m)
	if err != nil {
		out.DecodeError = err.Error()
	} else {
		out.Records = sum
	}
	return out
}

// summarise decodes m's envelope and describes its records.
func (s *Service) summarise(m types.Message) (*RecordsSummary, error) {
	if err := envelope.Check(attr(m, envelope.AttrVersion), attr(m, envelope.AttrEncoding)); err != nil {
		return nil, err
	}
	ndjson, err := s.opener.Open(aws.ToString(m.Body))
	if err != nil {
		return nil, err
	}
	sum := &RecordsSummary{FirstIDs: []string{}, Endpoints: []EndpointCount{}}
	counts := map[string]int{}
	for _, line := range envelope.Lines(ndjson) {
		sum.Count++
		var r struct {
			ID       string `json:"id"`
			Method   string `json:"method"`
			Path     string `json:"path"`
			Template string `json:"template"`
		}
		if json.Unmarshal(line, &r) != nil {
			counts["(not a JSON record)"]++
			continue
		}
		if len(sum.FirstIDs) < summaryIDs {
			sum.FirstIDs = append(sum.FirstIDs, r.ID)
		}
		counts[cmp.Or(r.Method, "?")+" "+cmp.Or(r.Template, r.Path, "?")]++
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	for _, k := range keys[:min(len(keys), summaryEndpoints)] {
		sum.Endpoints = append(sum.Endpoints, EndpointCount{Endpoint: k, Count: counts[k]})
	}
	return sum, nil
}
