package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/metrics"
	"github.com/gwtap/gwtap/internal/node"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/sqlite"
)

// Queue settings mirrored from template.yaml, except the visibility
// timeout: the template's 180 s (six times the forward timeout) would make a
// local retry after a failure wait three minutes.
const (
	MaxReceiveCount          = 5
	DefaultVisibilityTimeout = 5 * time.Second
	forwardTimeout           = 30 * time.Second
	pollers                  = 2 // the template's minimum MaximumConcurrency
)

// Options configures a Pipeline.
type Options struct {
	// DataDir holds the node's SQLite database.
	DataDir string
	// NodeAddr is where the node listens; when it is taken, a free port is used.
	NodeAddr string
	// AppID is stamped on records (X_WALLARM_APPLICATION_ID).
	AppID string
	// VisibilityTimeout of the traffic queue; DefaultVisibilityTimeout when zero.
	VisibilityTimeout time.Duration
	// Fault, when set, lets the caller make the node refuse batches.
	Fault *Fault
	// Log receives the functions' and the node's logs; discarded when nil.
	Log *slog.Logger
}

// Fault is a switch that makes the node answer POST /v1/records with 503
// while it is on, as an unreachable or overloaded node would.
type Fault struct{ down atomic.Bool }

// Set turns the fault on or off.
func (f *Fault) Set(down bool) { f.down.Store(down) }

func (f *Fault) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() && r.URL.Path == protocol.RecordsPath {
			w.Header().Set(protocol.HeaderRetryAfter, "1")
			http.Error(w, `{"error":"node unavailable (local fault switch)"}`, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Counts is what the pipeline did so far.
type Counts struct {
	Events, Control, IngestFailed               int
	Lines, Parsed, Unparsed, Enqueued, Messages int
	Delivered, Duplicates, Rejected, Retries    int
	DeadLettered                                int // messages sent to the DLQ by forward
	Redelivered                                 int // messages forward asked SQS to deliver again
	InQueue, InFlight, InDLQ                    int // traffic queue and DLQ, as SQS reports them
	NodeRecords                                 int64
}

// Pipeline is a running local pipeline. Close releases everything.
type Pipeline struct {
	opts    Options
	log     *slog.Logger
	sqs     *localsqs.Server
	client  *sqs.Client
	queues  localsqs.Queues
	store   *sqlite.Store
	node    *node.Node
	disc    *discovery.Discoverer
	server  *http.Server
	nodeURL string
	ingest  *ingest.Handler

	mu     sync.Mutex
	counts Counts // ingest's part; forward's comes from forwarded
	// forwarded sums the forward handler's EMF metrics.
	forwarded metrics.Totals

	stopPollers context.CancelFunc
	pollersDone sync.WaitGroup
	pollErr     error
}

// Start starts the local SQS, the queues, the node and the forward pollers.
func Start(ctx context.Context, opts Options) (*Pipeline, error) {
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if opts.AppID == "" {
		opts.AppID = "-1"
	}
	p := &Pipeline{opts: opts, log: opts.Log}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := p.start(ctx); err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

func (p *Pipeline) start(ctx context.Context) error {
	var err error
	if p.sqs, err = localsqs.Start(ctx, localsqs.Options{}); err != nil {
		return fmt.Errorf("starting the local SQS: %w", err)
	}
	if p.queues, err = p.sqs.CreateQueues(ctx, localsqs.QueueSpec{
		Name: "gwtap-traffic", DLQName: "gwtap-dead-letter", ExtraName: "gwtap-ingest-failures",
		MaxReceiveCount: MaxReceiveCount, VisibilityTimeout: p.opts.VisibilityTimeout,
		MaximumMessageSize: envelope.DefaultMaxMessageBytes,
	}); err != nil {
		return fmt.Errorf("creating the queues: %w", err)
	}
	if p.client, err = p.sqs.Client(ctx); err != nil {
		return err
	}
	if err := p.startNode(ctx); err != nil {
		return err
	}
	icfg, err := ingest.LoadConfig(env(map[string]string{ingest.EnvQueueURL: p.queues.Traffic.URL, ingest.EnvAppID: p.opts.AppID}))
	if err != nil {
		return fmt.Errorf("ingest configuration: %w", err)
	}
	if p.ingest, err = ingest.NewHandler(icfg, p.client, p.log, io.Discard); err != nil {
		return err
	}
	return p.startForward(ctx)
}

func (p *Pipeline) startNode(ctx context.Context) error {
	if err := os.MkdirAll(p.opts.DataDir, 0o755); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	var err error
	if p.store, err = sqlite.Open(ctx, filepath.Join(p.opts.DataDir, "node.db"), sqlite.Options{Logger: p.log}); err != nil {
		return err
	}
	p.disc = discovery.New(discovery.DefaultConfig())
	if p.node, err = node.New(node.Config{Logger: p.log, Version: "local"}, p.store, p.disc); err != nil {
		return err
	}
	end, err := p.store.Position(ctx)
	if err != nil {
		return err
	}
	if err := p.node.Rebuild(ctx, end); err != nil {
		return err
	}
	ln, err := listen(ctx, p.opts.NodeAddr)
	if err != nil {
		return err
	}
	p.nodeURL = "http://" + ln.Addr().String()
	h := p.node.Handler()
	if p.opts.Fault != nil {
		h = p.opts.Fault.wrap(h)
	}
	p.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(ln) }()
	return nil
}

// listen takes addr, or any free loopback port when addr is empty or taken.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if addr != "" {
		if ln, err := lc.Listen(ctx, "tcp", addr); err == nil {
			return ln, nil
		}
	}
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the node: %w", err)
	}
	return ln, nil
}

func (p *Pipeline) startForward(ctx context.Context) error {
	host := p.nodeURL[len("http://"):]
	fcfg, err := forward.LoadConfig(env(map[string]string{
		collector.EnvNodeURL: host, collector.EnvNodeScheme: "http", collector.EnvAppID: p.opts.AppID,
		forward.EnvDLQURL: p.queues.DLQ.URL,
	}))
	if err != nil {
		return fmt.Errorf("forward configuration: %w", err)
	}
	token, err := collector.ResolveToken(ctx, fcfg.Node, nil, nil)
	if err != nil {
		return err
	}
	hc, err := collector.NewHTTPClient(fcfg.Node)
	if err != nil {
		return err
	}
	nc, err := collector.New(fcfg.Node, token, hc, p.log)
	if err != nil {
		return err
	}
	h, err := forward.NewHandler(fcfg, nc, p.client, p.log, &p.forwarded)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stopPollers = cancel
	for range pollers {
		poller := &forward.Poller{
			SQS: p.client, QueueURL: p.queues.Traffic.URL, QueueARN: p.queues.Traffic.ARN, Region: localsqs.Region,
			Handler: h.Handle, BatchSize: 10, WaitTime: time.Second, Timeout: forwardTimeout,
		}
		p.pollersDone.Add(1)
		go func() {
			defer p.pollersDone.Done()
			if err := poller.Run(pctx, nil); err != nil {
				p.mu.Lock()
				p.pollErr = errors.Join(p.pollErr, err)
				p.mu.Unlock()
			}
		}()
	}
	return nil
}

// NodeURL is the node's base URL; its web page is at NodeURL + "/".
func (p *Pipeline) NodeURL() string { return p.nodeURL }

// Ingest runs the ingest handler on every event, as CloudWatch Logs would
// invoke it. A failed event is counted and the others still run; the first
// failure is returned.
func (p *Pipeline) Ingest(ctx context.Context, evs []events.CloudwatchLogsEvent) error {
	var first error
	for _, ev := range evs {
		res, err := p.ingest.Handle(ctx, ev)
		p.mu.Lock()
		c := &p.counts
		c.Events++
		switch {
		case err != nil:
			c.IngestFailed++
			if first == nil {
				first = err
			}
		case res.Control:
			c.Control++
		default:
			c.Lines += res.Stats.Lines
			c.Parsed += res.Stats.Parsed
			c.Unparsed += res.Stats.Unparsed
			c.Enqueued += res.Stats.Enqueued
			c.Messages += res.Stats.Messages
		}
		p.mu.Unlock()
	}
	return first
}

// Counts returns the counts so far, with the queue depths and the node's
// record count read now.
func (p *Pipeline) Counts(ctx context.Context) (Counts, error) {
	visible, inflight, err := p.depth(ctx, p.queues.Traffic.URL)
	if err != nil {
		return Counts{}, err
	}
	dlq, dlqInflight, err := p.depth(ctx, p.queues.DLQ.URL)
	if err != nil {
		return Counts{}, err
	}
	n, err := p.store.Count(ctx)
	if err != nil {
		return Counts{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.InQueue, c.InFlight, c.InDLQ, c.NodeRecords = visible, inflight, dlq+dlqInflight, n
	f := &p.forwarded
	c.Delivered, c.Duplicates, c.Rejected = f.Int("RecordsDelivered"), f.Int("Duplicates"), f.Int("RecordsRejected")
	c.Retries, c.DeadLettered, c.Redelivered = f.Int("Retries"), f.Int("MessagesDeadLettered"), f.Int("MessagesFailed")
	return c, p.pollErr
}

// depth returns a queue's visible (including delayed) and in-flight counts.
func (p *Pipeline) depth(ctx context.Context, url string) (visible, inflight int, err error) {
	out, err := p.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, 0, fmt.Errorf("reading queue depth: %w", err)
	}
	a := func(n types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(n)]); return v }
	visible = a(types.QueueAttributeNameApproximateNumberOfMessages) + a(types.QueueAttributeNameApproximateNumberOfMessagesDelayed)
	return visible, a(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible), nil
}

// Drain waits until the traffic queue is empty and nothing is in flight
// (checked twice, a poll interval apart), calling progress between checks.
func (p *Pipeline) Drain(ctx context.Context, progress func(Counts)) (Counts, error) {
	quiet := 0
	for {
		c, err := p.Counts(ctx)
		if err != nil {
			return c, err
		}
		if progress != nil {
			progress(c)
		}
		if c.InQueue == 0 && c.InFlight == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= 3 {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// TopEndpoints returns the n most requested endpoints of the inventory.
func (p *Pipeline) TopEndpoints(n int) []discovery.Endpoint {
	eps := p.disc.Endpoints()
	sort.SliceStable(eps, func(i, j int) bool { return eps[i].Requests > eps[j].Requests })
	return eps[:min(n, len(eps))]
}

// Endpoints returns the whole inventory.
func (p *Pipeline) Endpoints() []discovery.Endpoint { return p.disc.Endpoints() }

// Close stops the pollers, the node (finishing batches in flight), the
// store and the local SQS.
func (p *Pipeline) Close() error {
	var errs []error
	if p.stopPollers != nil {
		p.stopPollers()
		p.pollersDone.Wait()
	}
	if p.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, p.server.Shutdown(ctx))
		cancel()
	}
	if p.store != nil {
		errs = append(errs, p.store.Close())
	}
	if p.sqs != nil {
		errs = append(errs, p.sqs.Close())
	}
	return errors.Join(errs...)
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
