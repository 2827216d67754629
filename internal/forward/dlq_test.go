package forward

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envelope"
)

func TestFailureAttrs(t *testing.T) {
	firstReceive := fixedNow.Add(-10 * time.Minute)
	base := func(receives string) events.SQSMessage {
		return events.SQSMessage{MessageId: "m-1", Attributes: map[string]string{
			sysReceiveCount: receives, sysFirstReceive: strconv.FormatInt(firstReceive.UnixMilli(), 10),
		}}
	}
	replayed := base("1")
	replayed.MessageAttributes = map[string]events.SQSMessageAttribute{
		AttrFirstFailure:      {DataType: "String", StringValue: aws.String("2026-11-20T08:00:00.000Z")},
		AttrOriginalMessageID: {DataType: "String", StringValue: aws.String("m-0")},
		AttrReplayCount:       {DataType: "Number", StringValue: aws.String("2")},
	}
	garbage := base("x")
	garbage.MessageAttributes = map[string]events.SQSMessageAttribute{
		AttrFirstFailure: {DataType: "String", StringValue: aws.String("yesterday")},
		AttrReplayCount:  {DataType: "Number", StringValue: aws.String("-4")},
	}
	tests := []struct {
		name string
		m    events.SQSMessage
		want map[string]string
	}{
		{"first delivery fails", base("1"), map[string]string{
			AttrAttempts: "1", AttrFirstFailure: "2026-12-01T12:00:00.000Z", AttrOriginalMessageID: "m-1", AttrReplayCount: "0",
		}},
		// Delivered before and not deleted: the first delivery is when it
		// first failed.
		{"fourth delivery fails", base("4"), map[string]string{
			AttrAttempts: "4", AttrFirstFailure: "2026-12-01T11:50:00.000Z", AttrOriginalMessageID: "m-1", AttrReplayCount: "0",
		}},
		// A replayed message keeps the history replay needs to bound it.
		{"replayed message fails again", replayed, map[string]string{
			AttrAttempts: "1", AttrFirstFailure: "2026-11-20T08:00:00.000Z", AttrOriginalMessageID: "m-0", AttrReplayCount: "2",
		}},
		{"unreadable attributes", garbage, map[string]string{
			AttrAttempts: "1", AttrFirstFailure: "2026-12-01T12:00:00.000Z", AttrReplayCount: "0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := failureAttrs(tt.m, 503, "node down", fixedNow)
			for k, v := range tt.want {
				if s := aws.ToString(got[k].StringValue); s != v {
					t.Errorf("%s = %q, want %q", k, s, v)
				}
			}
			if aws.ToString(got[AttrFailureStatus].DataType) != "Number" || aws.ToString(got[AttrFailureStatus].StringValue) != "503" ||
				aws.ToString(got[AttrFailureReason].StringValue) != "node down" {
				t.Errorf("status/reason %v", got)
			}
		})
	}
}

// TestFailureAttrsFitTheReserve: whatever a node says, the attributes stay
// within attrReserve and SQS's character set.
func TestFailureAttrsFitTheReserve(t *testing.T) {
	hostile := strings.Repeat("\x00\uFFFE\U0001F600é\x7f", 400) + "\xff"
	m := events.SQSMessage{MessageId: strings.Repeat("i", 500), Attributes: map[string]string{sysReceiveCount: "999999999"}}
	m.MessageAttributes = map[string]events.SQSMessageAttribute{
		AttrReplayCount: {DataType: "Number", StringValue: aws.String("2147483647")},
	}
	got := failureAttrs(m, 599, hostile, fixedNow)
	size := 0
	for name, a := range got {
		v := aws.ToString(a.StringValue)
		size += len(name) + len(aws.ToString(a.DataType)) + len(v)
		if !utf8.ValidString(v) {
			t.Errorf("%s is not UTF-8", name)
		}
		for _, r := range v {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE {
				t.Errorf("%s keeps %U, which SQS refuses", name, r)
			}
		}
	}
	if size > attrReserve {
		t.Errorf("attributes take %d bytes, reserve is %d", size, attrReserve)
	}
}

// TestRepackSplitsLargeGroups: rejected records that do not fit in one DLQ
// message are spread over several, each within the size limit with its
// attributes.
func TestRepackSplitsLargeGroups(t *testing.T) {
	const limit = MinMessageBytes
	p, err := envelope.NewPacker(limit - attrReserve)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	var want []string
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		// Random ids, so the records do not compress into one message.
		id := fmt.Sprintf("%d-%x%x", i, r.Uint64(), r.Uint64())
		buf, _ := recordLines([]string{id})
		lines = append(lines, buf[:len(buf)-1])
		want = append(want, id)
	}
	msgs, err := repack(p, events.SQSMessage{MessageId: "m"}, []collector.Failure{{Status: 200, Reason: "r", Lines: lines, Records: 200}}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	var got []string
	for _, m := range msgs {
		size := len(m.body)
		for name, a := range m.attrs {
			size += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue))
		}
		if size > limit {
			t.Errorf("DLQ message of %d bytes, limit %d", size, limit)
		}
		got = append(got, recordIDs(t, m.body)...)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("records lost or reordered")
	}
}

func TestNewHandlerRejectsBadConfig(t *testing.T) {
	cfg := testConfig(t, "localhost:1")
	for name, mutate := range map[string]func(*Config){
		"message size below the attributes": func(c *Config) { c.MaxMessageBytes = 1000 },
		"no concurrency":                    func(c *Config) { c.Concurrency = 0 },
	} {
		c := cfg
		mutate(&c)
		if _, err := NewHandler(c, nil, nil, discard(), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
