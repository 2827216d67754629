package replay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/collector/collectortest"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/record"
)

// TestOutageThenReplay walks the runbook end to end against a real SQS
// API: the node goes down and records reach the DLQ by the traffic queue's
// redrive policy; a wrong token makes forward dead-letter a batch with its
// reason; status and peek explain it; a dry run changes nothing; once the
// node is back, a reason-filtered replay and then a full one deliver every
// record, and the duplicates an upstream retry made are counted.
func TestOutageThenReplay(t *testing.T) {
	e := newEnv(t, "outage")
	var authBroken atomic.Bool
	n := startNode(t, func(*collectortest.Request) collectortest.Reply {
		if authBroken.Load() {
			return collectortest.Reply{Status: 401, Reason: "invalid token"}
		}
		return collectortest.Reply{}
	})
	fwd := e.forwarder(t, n)
	s, m := e.service(t, n, nil)
	ctx := t.Context()
	traffic, dlq := e.qs.Traffic.URL, e.qs.DLQ.URL

	early := ids("early", 20)
	e.send(t, traffic, nil, early)
	e.drainTraffic(t, fwd)

	// The node goes down; an upstream retry sends "early" again meanwhile.
	n.down.Store(true)
	groups := [][]string{ids("a", 30), ids("b", 30), ids("c", 30), early}
	e.send(t, traffic, nil, groups...)
	e.drainTraffic(t, fwd)
	// The node comes back with a token it refuses.
	n.down.Store(false)
	authBroken.Store(true)
	auth := ids("auth", 25)
	e.send(t, traffic, nil, auth)
	e.drainTraffic(t, fwd)
	authBroken.Store(false)
	n.down.Store(true)
	e.waitVisible(t, dlq, 5)

	st, err := s.Status(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantReasons := []ReasonCount{{ReasonMaxReceives, 4, 110}, {"invalid token", 1, 25}}
	if st.Sampled != 5 || !st.SampleComplete || st.Records != 135 || st.Parked != 0 || !reflect.DeepEqual(st.ByReason, wantReasons) {
		t.Errorf("status = %+v, want 5 messages, 135 records, reasons %v", st, wantReasons)
	}
	if st.OldestAgeSeconds < 0 || st.OldestFirstFailure.IsZero() || st.IngestFailures == nil {
		t.Errorf("status oldest %v (%vs), ingest failures %v", st.OldestFirstFailure, st.OldestAgeSeconds, st.IngestFailures)
	}
	e.waitVisible(t, dlq, 5) // the sample gave its messages back

	probe, err := s.Probe(ctx)
	if err != nil || probe.Healthy || probe.Status != 503 || !strings.Contains(probe.Summary, "503 (degraded)") {
		t.Errorf("probe of a node that is down = %+v, %v", probe, err)
	}

	before := peekAll(t, s)
	dry, err := s.Redrive(ctx, RedriveOptions{DryRun: true})
	if err != nil || dry.Moved != 5 || dry.Records != 135 || dry.Stop != StopEmpty {
		t.Errorf("dry run = %+v, %v; want 5 messages (135 records) that would move", dry, err)
	}
	e.waitVisible(t, dlq, 5)
	if after := peekAll(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("the dry run changed the DLQ:\nbefore %v\nafter  %v", before, after)
	}
	if d := e.depth(t, traffic); d != 0 {
		t.Errorf("the dry run sent %d messages", d)
	}

	n.down.Store(false)
	if probe, err := s.Probe(ctx); err != nil || !probe.Healthy {
		t.Fatalf("probe of a healthy node = %+v, %v", probe, err)
	}
	res, err := s.Redrive(ctx, RedriveOptions{Reason: "INVALID TOKEN", Release: true})
	if err != nil || res.Moved != 1 || res.Records != 25 || res.Skipped != 4 {
		t.Errorf("replay of the token failures = %+v, %v; want 1 moved, 4 skipped", res, err)
	}
	e.waitVisible(t, dlq, 4) // the skipped ones are released
	e.drainTraffic(t, fwd)
	if miss := missing(n, auth); len(miss) > 0 {
		t.Errorf("not delivered after the filtered replay: %v", miss)
	}

	res, err = s.Redrive(ctx, RedriveOptions{Release: true})
	if err != nil || res.Moved != 4 || res.Records != 110 || res.Stop != StopEmpty {
		t.Errorf("replay = %+v, %v; want the other 4 messages", res, err)
	}
	e.drainTraffic(t, fwd)
	if miss := missing(n, append(groups, auth)...); len(miss) > 0 {
		t.Errorf("%d records never delivered: %v", len(miss), miss)
	}
	if got := n.duplicates(); got != len(early) {
		t.Errorf("node counted %d duplicates, want %d (the re-sent early records)", got, len(early))
	}
	if d := e.depth(t, dlq); d != 0 {
		t.Errorf("DLQ still holds %d messages", d)
	}
	if got := m.metric(t, "MessagesReplayed"); got != 5 {
		t.Errorf("MessagesReplayed = %v, want 5", got)
	}
	if got := m.metric(t, "MessagesParked"); got != 0 {
		t.Errorf("MessagesParked = %v, want 0", got)
	}
}

// peekAll is every DLQ message's id and attributes.
func peekAll(t *testing.T, s *Service) map[string]map[string]string {
	t.Helper()
	msgs, err := s.Peek(t.Context(), MaxPeek)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, m := range msgs {
		out[m.ID] = m.Attributes
	}
	return out
}

// TestReplayLimitParksAndNeverLoops replays a batch the node always
// refuses: forward dead-letters it again each time, keeping its replay
// count, until replay parks it. Each later run sees it once and stops.
func TestReplayLimitParksAndNeverLoops(t *testing.T) {
	e := newEnv(t, "park")
	var poisonPosts atomic.Int32
	n := startNode(t, func(r *collectortest.Request) collectortest.Reply {
		if strings.HasPrefix(r.IDs[0], "poison") {
			poisonPosts.Add(1)
			return collectortest.Reply{Status: 400, Reason: "batch is malformed"}
		}
		return collectortest.Reply{}
	})
	fwd := e.forwarder(t, n)
	s, m := e.service(t, n, func(c *Config, _ *Deps) { c.Limits.MaxReplays = 2 })
	poison, good := ids("poison", 5), ids("good", 5)
	e.send(t, e.qs.Traffic.URL, nil, poison, good)
	e.drainTraffic(t, fwd)

	for round := 1; round <= 5; round++ {
		res, err := s.Redrive(t.Context(), RedriveOptions{Release: true})
		if err != nil {
			t.Fatal(err)
		}
		want := RedriveResult{Received: 1, Moved: 1, Records: 5, Sent: 1, Stop: StopEmpty}
		if round > 2 {
			want = RedriveResult{Received: 1, Parked: 1, Stop: StopEmpty}
		}
		res.ElapsedSeconds = 0
		if res != want {
			t.Errorf("round %d: %+v, want %+v", round, res, want)
		}
		e.drainTraffic(t, fwd)
		e.waitVisible(t, e.qs.DLQ.URL, 1)
	}
	if got := poisonPosts.Load(); got != 3 {
		t.Errorf("the node got the poison batch %d times, want 3 (first delivery and two replays)", got)
	}
	if got := m.metric(t, "MessagesParked"); got != 3 {
		t.Errorf("MessagesParked = %v, want 3 (once per run that found it)", got)
	}
	msgs, err := s.Peek(t.Context(), 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("peek = %v, %v", msgs, err)
	}
	if p := msgs[0]; p.ReplayCount != 2 || !strings.Contains(p.Parked, "replayed 2 times") || p.Reason != "batch is malformed" || p.Status != 400 ||
		p.Records == nil || p.Records.Count != 5 || p.Records.FirstIDs[0] != "poison-0" {
		t.Errorf("peek of the parked message = %+v", p)
	}
	if miss := missing(n, good); len(miss) > 0 {
		t.Errorf("good records missing: %v", miss)
	}

	// An operator who fixed the cause raises the limit for one run.
	res, err := s.Redrive(t.Context(), RedriveOptions{MaxReplays: 3, Release: true})
	if err != nil || res.Moved != 1 {
		t.Errorf("replay with a higher limit = %+v, %v", res, err)
	}
}

// TestCrashBetweenSendAndDelete fails the DLQ deletes after the copies
// were sent: the originals come back and a later replay sends them again,
// so the node sees duplicates, and no record is lost.
func TestCrashBetweenSendAndDelete(t *testing.T) {
	e := newEnv(t, "crash")
	n := startNode(t, nil)
	fwd := e.forwarder(t, n)
	groups := [][]string{ids("x", 10), ids("y", 10), ids("z", 10)}
	e.send(t, e.qs.DLQ.URL, map[string]string{forward.AttrFailureReason: "invalid token", forward.AttrFailureStatus: "401"}, groups...)

	failing := &failingDeletes{SQSAPI: e.client, queue: e.qs.DLQ.URL}
	crashy, _ := e.service(t, n, func(_ *Config, d *Deps) { d.SQS = failing })
	res, err := crashy.Redrive(t.Context(), RedriveOptions{Release: true})
	if KindOf(err) != KindUnavailable || res.NotDeleted != 3 || res.Moved != 0 || res.Sent != 3 {
		t.Fatalf("redrive with failing deletes = %+v, %v; want 3 sent, none deleted, an unavailable error", res, err)
	}
	if failing.calls.Load() == 0 {
		t.Fatal("the injected delete failure was never reached")
	}
	e.drainTraffic(t, fwd)
	e.waitVisible(t, e.qs.DLQ.URL, 3) // back after the receive visibility

	s, _ := e.service(t, n, nil)
	res, err = s.Redrive(t.Context(), RedriveOptions{Release: true})
	if err != nil || res.Moved != 3 {
		t.Fatalf("second replay = %+v, %v", res, err)
	}
	e.drainTraffic(t, fwd)
	if miss := missing(n, groups...); len(miss) > 0 {
		t.Errorf("lost records: %v", miss)
	}
	if got := n.duplicates(); got != 30 {
		t.Errorf("duplicates = %d, want 30: every record was sent twice", got)
	}
	if d := e.depth(t, e.qs.DLQ.URL); d != 0 {
		t.Errorf("DLQ holds %d messages", d)
	}
}

// TestRedriveSplitsWhatTheTrafficQueueCannotTake re-drives a DLQ message
// larger than the traffic queue's MaximumMessageSize: its records are
// re-packed into messages that fit, each with the replay attributes. A
// record too large even alone stays in the DLQ, counted as failed.
func TestRedriveSplitsWhatTheTrafficQueueCannotTake(t *testing.T) {
	srv := localsqstest.Start(t)
	client, err := srv.Client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, attrs map[string]string) string {
		out, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl)
	}
	const trafficLimit = 4096
	e := &env{client: client, srv: srv}
	e.qs.DLQ.URL = create("split-dlq", nil)
	e.qs.Traffic.URL = create("split-traffic", map[string]string{"MaximumMessageSize": strconv.Itoa(trafficLimit)})

	// Incompressible user agents make the envelope larger than the limit.
	big := ids("big", 120)
	var ndjson []byte
	var ends []int
	for i, id := range big {
		r := record.Record{ID: id, Method: "POST", Path: "/orders/" + strconv.Itoa(i), UserAgent: randomHex(t, 40), Status: 200}
		ndjson = append(r.AppendJSON(ndjson), '\n')
		ends = append(ends, len(ndjson))
	}
	huge := record.Record{ID: "huge-0", Method: "GET", Path: "/" + randomHex(t, 3000), Status: 200}
	hugeLine := append(huge.AppendJSON(nil), '\n')
	reason := strings.Repeat("a long reason from the node. ", 14)
	for _, payload := range []struct {
		ndjson []byte
		ends   []int
	}{{ndjson, ends}, {hugeLine, []int{len(hugeLine)}}} {
		p, err := envelope.NewPacker(envelope.MaxMessageBytes)
		if err != nil {
			t.Fatal(err)
		}
		msgs, _ := p.Pack(payload.ndjson, payload.ends)
		attrs := map[string]types.MessageAttributeValue{
			forward.AttrFailureReason: {DataType: aws.String("String"), StringValue: aws.String(reason)},
			forward.AttrReplayCount:   {DataType: aws.String("Number"), StringValue: aws.String("1")},
		}
		for name, a := range msgs[0].Attributes() {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(a[0]), StringValue: aws.String(a[1])}
		}
		if _, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(e.qs.DLQ.URL), MessageBody: aws.String(msgs[0].Body), MessageAttributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}

	s, _ := e.service(t, nil, func(c *Config, _ *Deps) { c.Queues.IngestFailure = "" })
	res, err := s.Redrive(t.Context(), RedriveOptions{Release: true})
	if err != nil || res.Moved != 1 || res.Split != 1 || res.Sent < 2 || res.Failed != 1 || res.Records != len(big) {
		t.Fatalf("redrive = %+v, %v; want the big message split and the huge record failed", res, err)
	}
	var got []string
	opener, err := envelope.NewOpener(0)
	if err != nil {
		t.Fatal(err)
	}
	sent := e.messages(t, e.qs.Traffic.URL)
	if len(sent) != res.Sent {
		t.Errorf("traffic queue holds %d messages, result says %d sent", len(sent), res.Sent)
	}
	for _, m := range sent {
		if sz := size(aws.ToString(m.Body), m.MessageAttributes); sz > trafficLimit {
			t.Errorf("a piece is %d bytes, over the traffic queue's %d", sz, trafficLimit)
		}
		if attr(m, forward.AttrReplayCount) != "2" || attr(m, forward.AttrFailureReason) != "" {
			t.Errorf("piece attributes %v: want replay count 2 and the last failure's details dropped", m.MessageAttributes)
		}
		raw, err := opener.Open(aws.ToString(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		lines := envelope.Lines(raw)
		if attr(m, envelope.AttrRecords) != strconv.Itoa(len(lines)) {
			t.Errorf("piece says %s records, holds %d", attr(m, envelope.AttrRecords), len(lines))
		}
		for _, l := range lines {
			got = append(got, strings.Split(string(l), `"`)[3])
		}
	}
	slices.Sort(got)
	want := slices.Clone(big)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("records across the pieces: %v, want %v", got, want)
	}
	e.waitVisible(t, e.qs.DLQ.URL, 1)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

// TestParkReason covers the two parking rules and their boundaries.
func TestParkReason(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	msg := func(attrs map[string]string, sent time.Time) types.Message {
		m := types.Message{MessageAttributes: map[string]types.MessageAttributeValue{}, Attributes: map[string]string{}}
		for k, v := range attrs {
			m.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		if !sent.IsZero() {
			m.Attributes[sysSentTimestamp] = strconv.FormatInt(sent.UnixMilli(), 10)
		}
		return m
	}
	limits := Limits{MaxReplays: 3, MaxAge: 7 * 24 * time.Hour}
	tests := []struct {
		name   string
		m      types.Message
		limits Limits
		want   string // substring; "" means not parked
	}{
		{"first failure", msg(nil, now), limits, ""},
		{"below the limit", msg(map[string]string{forward.AttrReplayCount: "2"}, now), limits, ""},
		{"at the limit", msg(map[string]string{forward.AttrReplayCount: "3"}, now), limits, "replayed 3 times (limit 3)"},
		{"garbage count reads as 0", msg(map[string]string{forward.AttrReplayCount: "x"}, now), limits, ""},
		{"too old by first failure", msg(map[string]string{forward.AttrFirstFailure: now.Add(-8 * 24 * time.Hour).Format(firstFailureLayout)}, now), limits, "first failed 192h0m0s ago"},
		{"too old by sent time", msg(nil, now.Add(-8*24*time.Hour)), limits, "first failed"},
		{"old but no age limit", msg(nil, now.Add(-800*24*time.Hour)), Limits{MaxReplays: 3}, ""},
		{"first failure wins over sent time", msg(map[string]string{forward.AttrFirstFailure: now.Add(-time.Hour).Format(firstFailureLayout)}, now.Add(-30*24*time.Hour)), limits, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parkReason(tc.m, tc.limits, now)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("parkReason = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCopyAttrs checks what a re-driven copy carries.
func TestCopyAttrs(t *testing.T) {
	sent := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	flat := func(m map[string]types.MessageAttributeValue) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = aws.ToString(v.StringValue)
		}
		return out
	}
	tests := []struct {
		name  string
		attrs map[string]types.MessageAttributeValue
		want  map[string]string
	}{
		{"moved by the redrive policy", map[string]types.MessageAttributeValue{envelope.AttrRecords: str("5")}, map[string]string{
			envelope.AttrRecords: "5", forward.AttrReplayCount: "1", forward.AttrOriginalMessageID: "m-1",
			forward.AttrFirstFailure: "2026-11-30T08:00:00.000Z",
		}},
		{"dead-lettered by forward and replayed before", map[string]types.MessageAttributeValue{
			forward.AttrReplayCount: str("2"), forward.AttrOriginalMessageID: str("first"), forward.AttrFirstFailure: str("2026-11-01T00:00:00.000Z"),
			forward.AttrFailureReason: str("invalid token"),
		}, map[string]string{
			forward.AttrReplayCount: "3", forward.AttrOriginalMessageID: "first", forward.AttrFirstFailure: "2026-11-01T00:00:00.000Z",
			forward.AttrFailureReason: "invalid token",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := types.Message{MessageId: aws.String("m-1"), MessageAttributes: tc.attrs,
				Attributes: map[string]string{sysSentTimestamp: strconv.FormatInt(sent.UnixMilli(), 10)}}
			if got := flat(copyAttrs(m)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("copyAttrs = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRedriveOptionsAreChecked: invalid options fail before any SQS call.
func TestRedriveOptionsAreChecked(t *testing.T) {
	s, err := New(Config{Queues: Queues{DLQ: "http://127.0.0.1:9/1/dlq", Traffic: "http://127.0.0.1:9/1/traffic"},
		Limits: Limits{MaxReplays: 3}, ReceiveVisibility: time.Second}, Deps{SQS: panicSQS{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []RedriveOptions{{Max: -1}, {Rate: -1}, {Budget: -time.Second}, {Budget: 13 * time.Hour}, {MaxReplays: -1}, {MaxAge: -1}, {Reason: strings.Repeat("x", 600)}} {
		t.Run(fmt.Sprintf("%+v", o)[:40], func(t *testing.T) {
			if _, err := s.Redrive(t.Context(), o); KindOf(err) != KindInvalid {
				t.Errorf("Redrive(%+v) = %v, want KindInvalid", o, err)
			}
		})
	}
}

// panicSQS fails the test by panicking if any SQS call is made.
type panicSQS struct{ SQSAPI }
