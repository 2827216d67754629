package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/metrics"
	"github.com/gwtap/gwtap/internal/node"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/replay"
	"github.com/gwtap/gwtap/internal/sqlite"
	"github.com/gwtap/gwtap/internal/synth"
)

var soakFlag = flag.Bool("soak", false, "run the long form of the fault suite (also GWTAP_SOAK=1)")

// soak reports whether the long form runs.
func soak() bool { return *soakFlag || os.Getenv("GWTAP_SOAK") != "" }

// scale returns short in the short form and long in the soak.
func scale[T any](short, long T) T {
	if soak() {
		return long
	}
	return short
}

// action is what the fault wrapper does with one POST /v1/records.
type action struct {
	status     int           // answer this status instead of passing the request on; 0 passes
	retryAfter string        // Retry-After of that answer
	delay      time.Duration // wait before acting (the request still reaches the node after it)
	reset      bool          // close the connection with an RST instead of answering
}

// script decides the action for request n (from 1) with its compressed body.
type script func(n int64, r *http.Request, body []byte) action

// faultNode wraps the real node's handler and injects failures into
// POST /v1/records; every other path goes straight through.
type faultNode struct {
	next     http.Handler
	script   atomic.Pointer[script]
	requests atomic.Int64 // POST /v1/records seen
	faulted  atomic.Int64 // answered by the wrapper (status or reset)
	passed   atomic.Int64 // handed to the node
}

func (f *faultNode) set(s script) { f.script.Store(&s) }

func (f *faultNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != protocol.RecordsPath || r.Method != http.MethodPost {
		f.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	n := f.requests.Add(1)
	var act action
	if s := f.script.Load(); s != nil && *s != nil {
		act = (*s)(n, r, body)
	}
	if act.delay > 0 {
		// The node still does the work after the delay, as a slow node
		// would: the client has given up by then, so its retry is a
		// duplicate the node must drop.
		time.Sleep(act.delay)
	}
	switch {
	case act.reset:
		f.faulted.Add(1)
		hj, ok := w.(http.Hijacker)
		if !ok {
			// Cannot happen with net/http's HTTP/1 server; answer as a
			// transient failure so the scenario still accounts correctly.
			http.Error(w, "cannot reset this connection", http.StatusServiceUnavailable)
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = conn.Close()
		return
	case act.status != 0:
		f.faulted.Add(1)
		if act.retryAfter != "" {
			w.Header().Set(protocol.HeaderRetryAfter, act.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(act.status)
		_ = json.NewEncoder(w).Encode(protocol.ErrorBody{Error: fmt.Sprintf("injected %d", act.status)})
		return
	}
	f.passed.Add(1)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	f.next.ServeHTTP(w, r)
}

// counts is what one scenario did, from the functions' results and EMF lines.
type counts struct {
	Sent                             int // distinct valid record ids sent
	Lines, Parsed, Unparsed          int
	Enqueued, IngestFailed           int
	Delivered, Duplicates, Rejected  int
	Retries, Redelivered, DeadLetter int // DeadLetter: DLQ messages sent by forward
	Malformed                        int
	Replayed                         int // records re-driven by replay
	NodeRecords                      int64
	Lost                             int
	Requests, Faulted                int64
}

func (c counts) String() string {
	return fmt.Sprintf("sent=%d delivered=%d duplicates=%d dead-lettered=%d (rejected records %d, malformed %d) replayed=%d lost=%d | node records=%d, requests=%d (faulted %d), retries=%d, redeliveries=%d, unparsed=%d",
		c.Sent, c.Delivered, c.Duplicates, c.DeadLetter, c.Rejected, c.Malformed, c.Replayed, c.Lost,
		c.NodeRecords, c.Requests, c.Faulted, c.Retries, c.Redelivered, c.Unparsed)
}

// options configure a harness.
type options struct {
	maxReceive int               // traffic queue maxReceiveCount; 3 when 0
	visibility time.Duration     // traffic queue visibility timeout; 1 s when 0
	nodeToken  string            // the node requires it when set
	fwdToken   string            // GWTAP_NODE_TOKEN of forward
	fwdEnv     map[string]string // more forward settings
	ingestEnv  map[string]string // more ingest settings
	ingestSQS  func(ingest.SQSAPI) ingest.SQSAPI
	log        *slog.Logger // functions' and node's logs; discarded when nil
	pollers    int          // 2 when 0
	timeout    time.Duration
}

// harness is a running pipeline: local SQS, ingest, pollers + forward, and
// the real node behind a faultNode.
type harness struct {
	t      *testing.T
	opts   options
	client *sqs.Client
	queues localsqs.Queues
	store  *sqlite.Store
	disc   *discovery.Discoverer
	fault  *faultNode
	node   *httptest.Server
	ingest *ingest.Handler
	fwd    atomic.Pointer[forward.Handler]

	mu sync.Mutex
	c  counts // ingest and replay counts; forward's come from forwarded
	// forwarded sums the forward handlers' EMF metrics.
	forwarded metrics.Totals
}

// start builds a harness for t; everything stops when t ends.
func start(t *testing.T, o options) *harness {
	t.Helper()
	if o.maxReceive == 0 {
		o.maxReceive = 3
	}
	if o.visibility == 0 {
		o.visibility = time.Second
	}
	if o.pollers == 0 {
		o.pollers = 2
	}
	if o.timeout == 0 {
		o.timeout = 8 * time.Second
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	h := &harness{t: t, opts: o}
	ctx := t.Context()
	srv := localsqstest.Start(t)
	var err error
	h.queues, err = srv.CreateQueues(ctx, localsqs.QueueSpec{
		Name: "traffic", DLQName: "dead-letter", ExtraName: "ingest-failures",
		MaxReceiveCount: o.maxReceive, VisibilityTimeout: o.visibility,
		MaximumMessageSize: envelope.DefaultMaxMessageBytes,
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.client, err = srv.Client(ctx); err != nil {
		t.Fatal(err)
	}

	h.store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "node.db"), sqlite.Options{Logger: o.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.store.Close(); err != nil {
			t.Error(err)
		}
	})
	h.disc = discovery.New(discovery.DefaultConfig())
	n, err := node.New(node.Config{Logger: o.log, Version: "faults", Token: o.nodeToken}, h.store, h.disc)
	if err != nil {
		t.Fatal(err)
	}
	h.fault = &faultNode{next: n.Handler()}
	h.node = httptest.NewServer(h.fault)
	t.Cleanup(h.node.Close)

	ienv := map[string]string{ingest.EnvQueueURL: h.queues.Traffic.URL, ingest.EnvAppID: "7"}
	for k, v := range o.ingestEnv {
		ienv[k] = v
	}
	icfg, err := ingest.LoadConfig(getenv(ienv))
	if err != nil {
		t.Fatal(err)
	}
	var q ingest.SQSAPI = h.client
	if o.ingestSQS != nil {
		q = o.ingestSQS(q)
	}
	if h.ingest, err = ingest.NewHandler(icfg, q, o.log, io.Discard); err != nil {
		t.Fatal(err)
	}
	h.ingest.SetRetryPolicy(fastRetry)

	h.setForward(o.fwdToken)
	h.startPollers()
	return h
}

// fastRetry is the backoff the tests give the handlers that let them.
var fastRetry = backoff.Policy{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond, Margin: 100 * time.Millisecond}

// setForward builds a forward handler (a new container) posting with token
// and makes the pollers use it.
func (h *harness) setForward(token string) {
	h.t.Helper()
	env := map[string]string{
		collector.EnvNodeURL: strings.TrimPrefix(h.node.URL, "http://"), collector.EnvNodeScheme: "http",
		collector.EnvAppID: "7", forward.EnvDLQURL: h.queues.DLQ.URL,
		collector.EnvTimeout: "1s", collector.EnvMaxWait: "200ms", collector.EnvAttempts: "3",
		collector.EnvConnectTimeout: "1s",
	}
	if token != "" {
		env[collector.EnvToken] = token
	}
	for k, v := range h.opts.fwdEnv {
		env[k] = v
	}
	cfg, err := forward.LoadConfig(getenv(env))
	if err != nil {
		h.t.Fatal(err)
	}
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := collector.ResolveToken(h.t.Context(), cfg.Node, nil, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	nc, err := collector.New(cfg.Node, tok, hc, h.opts.log)
	if err != nil {
		h.t.Fatal(err)
	}
	f, err := forward.NewHandler(cfg, nc, h.client, h.opts.log, &h.forwarded)
	if err != nil {
		h.t.Fatal(err)
	}
	h.fwd.Store(f)
}

func (h *harness) startPollers() {
	ctx, cancel := context.WithCancel(context.WithoutCancel(h.t.Context()))
	var wg sync.WaitGroup
	for range h.opts.pollers {
		p := &forward.Poller{
			SQS: h.client, QueueURL: h.queues.Traffic.URL, QueueARN: h.queues.Traffic.ARN, Region: localsqs.Region,
			Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				return h.fwd.Load().Handle(ctx, ev)
			},
			BatchSize: 10, WaitTime: time.Second, Timeout: h.opts.timeout,
		}
		wg.Go(func() {
			if err := p.Run(ctx, nil); err != nil {
				h.t.Errorf("poller: %v", err)
			}
		})
	}
	// Cleanups run last-in first-out: the pollers stop before the node and
	// the SQS server.
	h.t.Cleanup(func() { cancel(); wg.Wait() })
}

// send runs ingest on each event, as CloudWatch Logs would invoke it, and
// fails the test if an invocation fails.
func (h *harness) send(evs []events.CloudwatchLogsEvent) {
	h.t.Helper()
	for _, ev := range evs {
		if _, err := h.invoke(ev); err != nil {
			h.t.Fatalf("ingest: %v", err)
		}
	}
}

// invoke runs ingest once and counts what it did.
func (h *harness) invoke(ev events.CloudwatchLogsEvent) (ingest.Result, error) {
	res, err := h.ingest.Handle(h.t.Context(), ev)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.c.IngestFailed++
		return res, err
	}
	h.c.Lines += res.Stats.Lines
	h.c.Parsed += res.Stats.Parsed
	h.c.Unparsed += res.Stats.Unparsed
	h.c.Enqueued += res.Stats.Enqueued
	return res, nil
}

// depth returns a queue's visible (with delayed) and in-flight messages.
func (h *harness) depth(url string) (visible, inflight int) {
	h.t.Helper()
	out, err := h.client.GetQueueAttributes(h.t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	a := func(n types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(n)]); return v }
	return a(types.QueueAttributeNameApproximateNumberOfMessages) + a(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
		a(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
}

// drain waits until the traffic queue is empty with nothing in flight,
// three checks in a row, and at most limit.
func (h *harness) drain(limit time.Duration) {
	h.t.Helper()
	end := time.Now().Add(limit)
	quiet := 0
	for quiet < 3 {
		if time.Now().After(end) {
			v, f := h.depth(h.queues.Traffic.URL)
			h.t.Fatalf("traffic queue not drained after %s: %d visible, %d in flight; %s", limit, v, f, h.counts())
		}
		if v, f := h.depth(h.queues.Traffic.URL); v == 0 && f == 0 {
			quiet++
		} else {
			quiet = 0
		}
		select {
		case <-h.t.Context().Done():
			h.t.Fatal(h.t.Context().Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stored returns how many times each record id is in the node's store.
func (h *harness) stored() map[string]int {
	h.t.Helper()
	ids := map[string]int{}
	for _, r := range h.records() {
		ids[r.ID]++
	}
	return ids
}

// records returns every record the node stores.
func (h *harness) records() []record.Record {
	h.t.Helper()
	ctx := h.t.Context()
	end, err := h.store.Position(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []record.Record
	if err := h.store.Scan(ctx, end, 4096, func(recs []record.Record) error {
		out = append(out, recs...)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// counts returns the counts so far.
func (h *harness) counts() counts {
	h.mu.Lock()
	c := h.c
	h.mu.Unlock()
	f := &h.forwarded
	c.Delivered, c.Duplicates, c.Rejected = f.Int("RecordsDelivered"), f.Int("Duplicates"), f.Int("RecordsRejected")
	c.Retries, c.DeadLetter, c.Redelivered = f.Int("Retries"), f.Int("MessagesDeadLettered"), f.Int("MessagesFailed")
	c.Malformed = f.Int("EnvelopesMalformed")
	c.Requests, c.Faulted = h.fault.requests.Load(), h.fault.faulted.Load()
	if n, err := h.store.Count(context.WithoutCancel(h.t.Context())); err == nil {
		c.NodeRecords = n
	}
	return c
}

// account checks that every id of sent is stored exactly once, that the
// node stores nothing else, and returns the counts with Sent and Lost set.
// Ids in except (dead-lettered on purpose) are not expected at the node.
func (h *harness) account(sent map[string]bool, except map[string]bool) counts {
	h.t.Helper()
	ids := h.stored()
	c := h.counts()
	c.Sent = len(sent)
	for id := range sent {
		switch n := ids[id]; {
		case except[id]:
			if n != 0 {
				h.t.Errorf("record %s should have been refused, but the node stores it", id)
			}
		case n == 0:
			c.Lost++
		case n > 1:
			h.t.Errorf("record %s stored %d times: deduplication failed", id, n)
		}
	}
	for id := range ids {
		if !sent[id] {
			h.t.Errorf("the node stores %q, which was never sent", id)
		}
	}
	if c.Lost > 0 {
		h.t.Errorf("%d of %d records lost", c.Lost, len(sent))
	}
	if c.Delivered < len(sent)-len(except) {
		h.t.Errorf("forward counted %d delivered, fewer than the %d records the node holds", c.Delivered, len(sent)-len(except))
	}
	return c
}

// dlqMessage is one dead-lettered message as read back.
type dlqMessage struct {
	reason, status string
	ids            []string
	records        int
	err            error // the body could not be opened (a malformed envelope)
}

// dlq reads every message of the DLQ and makes them visible again.
func (h *harness) dlq() []dlqMessage {
	h.t.Helper()
	ctx := h.t.Context()
	opener, err := envelope.NewOpener(0)
	if err != nil {
		h.t.Fatal(err)
	}
	var (
		out     []dlqMessage
		handles []types.Message
	)
	for empty := 0; empty < 2; {
		res, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(h.queues.DLQ.URL), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range res.Messages {
			handles = append(handles, m)
			a := func(k string) string {
				if v, ok := m.MessageAttributes[k]; ok {
					return aws.ToString(v.StringValue)
				}
				return ""
			}
			d := dlqMessage{reason: a(forward.AttrFailureReason), status: a(forward.AttrFailureStatus)}
			d.records, _ = strconv.Atoi(a(envelope.AttrRecords))
			nd, err := opener.Open(aws.ToString(m.Body))
			if err != nil {
				d.err = err
			} else {
				for _, l := range envelope.Lines(nd) {
					var r struct {
						ID string `json:"id"`
					}
					_ = json.Unmarshal(l, &r)
					d.ids = append(d.ids, r.ID)
				}
			}
			out = append(out, d)
		}
	}
	for start := 0; start < len(handles); start += 10 {
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(h.queues.DLQ.URL)}
		for i, m := range handles[start:min(start+10, len(handles))] {
			in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			})
		}
		if _, err := h.client.ChangeMessageVisibilityBatch(ctx, in); err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}

// replayService returns a replay.Service over the harness's queues.
func (h *harness) replayService() *replay.Service {
	h.t.Helper()
	cfg, err := replay.LoadConfig(getenv(map[string]string{
		replay.EnvDLQURL: h.queues.DLQ.URL, replay.EnvTrafficQueueURL: h.queues.Traffic.URL,
		collector.EnvNodeURL: strings.TrimPrefix(h.node.URL, "http://"), collector.EnvNodeScheme: "http",
		collector.EnvAppID: "7", replay.EnvRate: "1000",
	}))
	if err != nil {
		h.t.Fatal(err)
	}
	cfg.ReceiveWait = 0
	s, err := replay.New(cfg, replay.Deps{SQS: h.client, Log: h.opts.log})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// redrive re-drives the whole DLQ with replay.Service and counts the
// records replayed.
func (h *harness) redrive() replay.RedriveResult {
	h.t.Helper()
	res, err := h.replayService().Redrive(h.t.Context(), replay.RedriveOptions{Budget: 30 * time.Second, Release: true})
	if err != nil {
		h.t.Fatalf("redrive: %v (%+v)", err, res)
	}
	h.mu.Lock()
	h.c.Replayed += res.Records
	h.mu.Unlock()
	return res
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// corpus returns n synthetic access-log lines as subscription events of at
// most per lines each, and the distinct record ids they carry.
func corpus(t *testing.T, seed uint64, n, per int) ([]events.CloudwatchLogsEvent, map[string]bool) {
	t.Helper()
	g := synth.New(seed, time.Now().Add(-time.Hour).UTC().Truncate(time.Second))
	lines := make([]string, n)
	for i := range lines {
		lines[i] = synth.SeedJSON(g.Next())
	}
	return eventsOf(t, lines, per)
}

// eventsOf packs lines into subscription events of at most per lines and
// returns the ids of those that parse.
func eventsOf(t *testing.T, lines []string, per int) ([]events.CloudwatchLogsEvent, map[string]bool) {
	t.Helper()
	ids := map[string]bool{}
	var evs []events.CloudwatchLogsEvent
	for start := 0; start < len(lines); start += per {
		p := &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: "123456789012", LogGroup: "/aws/apigateway/faults", LogStream: "s"}
		for i, line := range lines[start:min(start+per, len(lines))] {
			var r record.Record
			if _, err := accesslog.Parse(line, &r); err == nil && r.ID != "" {
				ids[r.ID] = true
			}
			p.LogEvents = append(p.LogEvents, cwlogs.LogEvent{
				ID: fmt.Sprintf("%056d", start+i), Timestamp: time.Now().UnixMilli(), Message: line,
			})
		}
		data, err := cwlogs.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
	}
	return evs, ids
}
