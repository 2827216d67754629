package forward

import (
	"encoding/base64"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/protocol"
)

// FuzzHandle feeds the handler messages with arbitrary bodies and envelope
// attributes. Whatever arrives, every message must end one way only: posted
// to the node, dead-lettered with valid attributes, or handed back to SQS;
// and the handler must never fail the whole batch.
func FuzzHandle(f *testing.F) {
	good := message(f, "seed", ids("seed", 3))
	f.Add(good.Body, envelope.Version, envelope.EncodingZstd, "3")
	f.Add(good.Body, "", envelope.EncodingZstd, "")
	f.Add(good.Body, "2", envelope.EncodingZstd, "3")
	f.Add(good.Body[:len(good.Body)/2], envelope.Version, envelope.EncodingZstd, "3")
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}), envelope.Version, envelope.EncodingZstd, "1")
	f.Add("\x00\xff", "1", "zstd", "-1")
	f.Add("", "1", "gzip", "99999999999999999999")

	fx := newFixture(f, func(r *collectortest.Request) collectortest.Reply {
		if len(r.Lines) > 2 {
			return collectortest.Reply{Status: 413}
		}
		return collectortest.Reply{Reject: func(i int, _ string) string {
			if i == 1 {
				return protocol.ReasonInvalidJSON
			}
			return ""
		}}
	}, nil)
	f.Fuzz(func(t *testing.T, body, version, encoding, records string) {
		m := message(t, "fuzzed", ids("f", 1))
		m.Body = body
		m.MessageAttributes = map[string]events.SQSMessageAttribute{}
		for name, v := range map[string]string{envelope.AttrVersion: version, envelope.AttrEncoding: encoding, envelope.AttrRecords: records} {
			if v != "" {
				m.MessageAttributes[name] = events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
			}
		}
		requests, dlq := len(fx.node.Requests()), len(fx.dlq.messages())
		resp, err := fx.h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{m}})
		if err != nil {
			t.Fatal(err)
		}
		posted := len(fx.node.Requests()) > requests
		sent := fx.dlq.messages()[dlq:]
		failed := slices.Equal(failedIDs(resp), []string{"fuzzed"})
		if !posted && len(sent) == 0 && !failed {
			t.Fatal("message neither posted, dead-lettered nor handed back")
		}
		if failed && len(sent) > 0 {
			t.Fatal("message both dead-lettered and handed back")
		}
		for _, in := range sent {
			if len(in.MessageAttributes) > 10 {
				t.Fatalf("%d attributes", len(in.MessageAttributes))
			}
			for name, a := range in.MessageAttributes {
				if v := aws.ToString(a.StringValue); !utf8.ValidString(v) || v == "" && name != envelope.AttrVersion {
					t.Fatalf("attribute %s = %q", name, v)
				}
			}
		}
	})
}
