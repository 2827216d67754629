package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/gzip"

	"github.com/aws/aws-lambda-go/events"
)

// Encode builds awslogs.data for p, as CloudWatch Logs does: the JSON
// document, gzipped, in base64. The output is deterministic for a given p,
// so generated sample events are reproducible. Oversized and
// DecompressedBytes are ignored.
func Encode(p *Payload) (string, error) {
	doc := events.CloudwatchLogsData{
		Owner:               p.Owner,
		LogGroup:            p.LogGroup,
		LogStream:           p.LogStream,
		SubscriptionFilters: p.SubscriptionFilters,
		MessageType:         p.MessageType,
		LogEvents:           make([]events.CloudwatchLogsLogEvent, len(p.LogEvents)),
	}
	if doc.SubscriptionFilters == nil {
		doc.SubscriptionFilters = []string{}
	}
	for i, e := range p.LogEvents {
		doc.LogEvents[i] = events.CloudwatchLogsLogEvent{ID: e.ID, Timestamp: e.Timestamp, Message: e.Message}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encoding subscription document: %w", err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("compressing subscription document: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("compressing subscription document: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing subscription document: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
