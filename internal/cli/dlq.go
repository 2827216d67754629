package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/replay"
)

// Stack outputs `gwtap dlq -stack` reads (template.yaml's Outputs).
const (
	outputDLQ           = "DeadLetterQueueUrl"
	outputTraffic       = "TrafficQueueUrl"
	outputIngestFailure = "IngestFailureQueueUrl"
	outputNode          = "NodeEndpoint"
)

// stackAPI is the CloudFormation call `-stack` makes.
type stackAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var _ stackAPI = (*cloudformation.Client)(nil)

// awsClients builds the SQS and CloudFormation clients from the operator's
// AWS configuration; endpoint, when set, points SQS at a stand-in.
type awsClients func(ctx context.Context, endpoint string) (replay.SQSAPI, stackAPI, error)

// defaultClients uses the SDK's default configuration chain (profiles, SSO,
// environment), as the AWS CLI does. AWS_ENDPOINT_URL_SQS works too.
func defaultClients(ctx context.Context, endpoint string) (replay.SQSAPI, stackAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return q, cloudformation.NewFromConfig(cfg), nil
}

const dlqUsage = `dlq <status|peek|replay|reingest> [flags]

Operate the dead-letter queue (see docs/runbook.md) with your own AWS credentials:
  status    depth, oldest failure, counts by reason, parked messages, node health
  peek      a few messages with their attributes and records, without consuming them
  replay    move messages back to the traffic queue (rate-limited, bounded, -dry-run)
  reingest  run the raw events in the ingest failure queue through ingest again

Queues come from -dlq-url/-traffic-url/-ingest-failure-url, else from the
outputs of the CloudFormation stack -stack names, else from $GWTAP_DLQ_URL,
$GWTAP_QUEUE_URL and $GWTAP_INGEST_FAILURE_QUEUE_URL. The node (for the health
probe) comes from -node, else the stack's NodeEndpoint, else $X_NODE_URL.
Set AWS_ENDPOINT_URL_SQS (or -endpoint-url) to use a local SQS.`

// runDLQ is `gwtap dlq`.
func runDLQ(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dlqMain(ctx, args, stdout, stderr, defaultClients)
}

// dlqFlags are the flags every dlq subcommand takes.
type dlqFlags struct {
	stack, dlqURL, trafficURL, failureURL, endpoint string
	node, nodeScheme                                string
	asJSON, verbose                                 bool
}

func (f *dlqFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stack, "stack", "", "CloudFormation stack whose outputs name the queues and the node")
	fs.StringVar(&f.dlqURL, "dlq-url", "", "dead-letter queue URL")
	fs.StringVar(&f.trafficURL, "traffic-url", "", "traffic queue URL")
	fs.StringVar(&f.failureURL, "ingest-failure-url", "", "ingest failure queue URL")
	fs.StringVar(&f.endpoint, "endpoint-url", "", "SQS endpoint, for a local stand-in (default $AWS_ENDPOINT_URL_SQS)")
	fs.StringVar(&f.node, "node", "", "node as host[:port] or scheme://host[:port], for the health probe")
	fs.StringVar(&f.nodeScheme, "node-scheme", "", "node scheme when -node has none (default $X_NODE_SCHEME or https)")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&f.verbose, "v", false, "log as JSON on stderr")
}

func dlqMain(ctx context.Context, args []string, stdout, stderr io.Writer, clients awsClients) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: gwtap "+dlqUsage)
		if len(args) == 0 {
			return fmt.Errorf("%w: dlq needs a subcommand: status, peek, replay or reingest", ErrUsage)
		}
		return nil
	}
	sub, args := args[0], args[1:]
	var f dlqFlags
	fs := newFlags("dlq "+sub, "dlq "+sub+" [flags]\n\n"+dlqUsage, stderr)
	f.register(fs)
	var (
		sample, limit, max, maxReplays int
		rate                           float64
		reason                         string
		budget, maxAge                 time.Duration
		dryRun, force, noProgress      bool
	)
	switch sub {
	case "status":
		fs.IntVar(&sample, "sample", replay.DefaultSample, "DLQ messages to sample for ages, reasons and parked counts")
	case "peek":
		fs.IntVar(&limit, "limit", replay.DefaultPeek, fmt.Sprintf("messages to show (at most %d)", replay.MaxPeek))
	case "replay":
		fs.BoolVar(&dryRun, "dry-run", false, "count what would be moved, changing nothing")
		fs.IntVar(&max, "max", 0, "most messages to move (0: all)")
		fs.Float64Var(&rate, "rate", replay.DefaultRate, "messages moved per second")
		fs.StringVar(&reason, "reason", "", "only messages whose failure reason contains this (ignoring case); "+replay.ReasonMaxReceives+" selects those SQS moved after maxReceiveCount")
		fs.DurationVar(&budget, "budget", 15*time.Minute, "stop after this long")
		fs.IntVar(&maxReplays, "max-replays", 0, fmt.Sprintf("park messages replayed this many times (default %d); raise it to replay parked messages once their cause is fixed", replay.DefaultMaxReplays))
		fs.DurationVar(&maxAge, "max-age", 0, "park messages that first failed longer ago (0: no limit)")
		fs.BoolVar(&force, "force", false, "replay even when the node's health probe fails")
		fs.BoolVar(&noProgress, "no-progress", false, "do not draw the progress bar on stderr")
	case "reingest":
		fs.BoolVar(&dryRun, "dry-run", false, "check which events could be re-ingested, changing nothing")
		fs.IntVar(&max, "max", 0, "most events to re-ingest (0: all)")
		fs.DurationVar(&budget, "budget", 15*time.Minute, "stop after this long")
	default:
		return fmt.Errorf("%w: unknown dlq subcommand %q (status, peek, replay or reingest)", ErrUsage, sub)
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", ErrUsage, fs.Args())
	}

	q, stacks, err := clients(ctx, f.endpoint)
	if err != nil {
		return err
	}
	target, err := resolveTarget(ctx, f, stacks, os.Getenv)
	if err != nil {
		return err
	}
	if sub == "reingest" && target.queues.IngestFailure == "" {
		return fmt.Errorf("%w: reingest needs the ingest failure queue: give -ingest-failure-url or -stack", ErrUsage)
	}
	log := logger(stderr, f.verbose)
	deps := replay.Deps{SQS: q, Log: log}
	var hc interface{ CloseIdleConnections() }
	if target.node.Host != "" {
		h, err := collector.NewHTTPClient(target.node)
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		hc = h
		n, err := collector.New(target.node, "", h, log)
		if err != nil {
			return err
		}
		deps.Node, deps.NodeURL = n, target.node.BaseURL()
	}
	if hc != nil {
		defer hc.CloseIdleConnections()
	}
	cfg := replay.Config{
		Queues:            target.queues,
		Limits:            replay.Limits{MaxReplays: replay.DefaultMaxReplays, Rate: replay.DefaultRate},
		ReceiveWait:       replay.DefaultReceiveWait,
		ReceiveVisibility: replay.DefaultReceiveVisibility,
		Namespace:         "gwtap",
	}
	if sub == "reingest" {
		ic, err := ingest.LoadConfig(overlay(map[string]string{ingest.EnvQueueURL: target.queues.Traffic, ingest.EnvAppID: envOr(ingest.EnvAppID, "-1")}))
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		ih, err := ingest.NewHandler(ic, q, log, io.Discard)
		if err != nil {
			return err
		}
		deps.Ingester = ih
	}
	s, err := replay.New(cfg, deps)
	if err != nil {
		return err
	}
	out := output{w: stdout, asJSON: f.asJSON}

	switch sub {
	case "status":
		st, err := s.Status(ctx, sample)
		if err != nil {
			return err
		}
		var probe *replay.ProbeResult
		if deps.Node != nil {
			p, err := s.Probe(ctx)
			if err != nil {
				return err
			}
			probe = &p
		}
		return out.status(st, probe)
	case "peek":
		msgs, err := s.Peek(ctx, limit)
		if err != nil {
			return err
		}
		return out.peek(msgs)
	case "reingest":
		res, err := s.Reingest(ctx, replay.ReingestOptions{DryRun: dryRun, Max: max, Budget: budget, Release: true})
		if perr := out.reingest(res); perr != nil {
			return perr
		}
		return err
	}

	// replay
	if deps.Node != nil && !dryRun {
		p, err := s.Probe(ctx)
		if err != nil {
			return err
		}
		if !p.Healthy {
			msg := fmt.Sprintf("node %s is not healthy: %s", p.Node, p.Summary)
			if !force {
				return fmt.Errorf("%s; replaying now would only fill the DLQ again (use -force to replay anyway)", msg)
			}
			fmt.Fprintln(stderr, "warning: "+msg+"; replaying anyway (-force)")
		}
	} else if deps.Node == nil {
		fmt.Fprintln(stderr, "note: no node given (-node, -stack or $X_NODE_URL), so its health was not checked")
	}
	o := replay.RedriveOptions{DryRun: dryRun, Max: max, Rate: rate, Reason: reason, Budget: budget,
		MaxReplays: maxReplays, MaxAge: maxAge, Release: true}
	if !noProgress && !f.asJSON {
		st, err := s.Status(ctx, 1)
		if err != nil {
			return err
		}
		total := st.Visible
		if max > 0 {
			total = min(total, max)
		}
		bar := &progressBar{w: stderr, total: total, start: time.Now()}
		o.Progress = bar.update
		defer bar.finish()
	}
	res, err := s.Redrive(ctx, o)
	if perr := out.redrive(res); perr != nil {
		return perr
	}
	return err
}

// target is what a dlq command works on.
type target struct {
	queues replay.Queues
	node   collector.Config
}

// resolveTarget finds the queues and the node: flags first, then the
// stack's outputs, then the environment.
func resolveTarget(ctx context.Context, f dlqFlags, stacks stackAPI, getenv func(string) string) (target, error) {
	outputs := map[string]string{}
	if f.stack != "" {
		out, err := stacks.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(f.stack)})
		if err != nil {
			return target{}, fmt.Errorf("reading the outputs of stack %s: %w", f.stack, err)
		}
		if len(out.Stacks) == 0 {
			return target{}, fmt.Errorf("stack %s not found", f.stack)
		}
		for _, o := range out.Stacks[0].Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
	}
	t := target{queues: replay.Queues{
		DLQ:           cmp.Or(f.dlqURL, outputs[outputDLQ], getenv(replay.EnvDLQURL)),
		Traffic:       cmp.Or(f.trafficURL, outputs[outputTraffic], getenv(replay.EnvTrafficQueueURL)),
		IngestFailure: cmp.Or(f.failureURL, outputs[outputIngestFailure], getenv(replay.EnvIngestFailureURL)),
	}}
	var missing []string
	if t.queues.DLQ == "" {
		missing = append(missing, "-dlq-url")
	}
	if t.queues.Traffic == "" {
		missing = append(missing, "-traffic-url")
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("%w: no %s: give them, or -stack NAME, or set $%s and $%s", ErrUsage, strings.Join(missing, " or "), replay.EnvDLQURL, replay.EnvTrafficQueueURL)
	}
	for name, u := range map[string]string{"dead-letter queue": t.queues.DLQ, "traffic queue": t.queues.Traffic, "ingest failure queue": t.queues.IngestFailure} {
		if u == "" {
			continue
		}
		if err := replay.CheckQueueURL(u); err != nil {
			return t, fmt.Errorf("%w: %s URL %v", ErrUsage, name, err)
		}
	}

	node, scheme := f.node, f.nodeScheme
	if node == "" {
		node = outputs[outputNode]
	}
	if node == "" {
		node, scheme = getenv(collector.EnvNodeURL), cmp.Or(scheme, getenv(collector.EnvNodeScheme))
	}
	if node == "" {
		return t, nil
	}
	if u, err := url.Parse(node); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		node, scheme = u.Host, u.Scheme
	}
	cfg, err := collector.LoadConfig(func(k string) string {
		return map[string]string{collector.EnvNodeURL: node, collector.EnvNodeScheme: scheme, collector.EnvAppID: "-1"}[k]
	})
	if err != nil {
		return t, fmt.Errorf("%w: node: %w", ErrUsage, err)
	}
	cfg.Timeout = 5 * time.Second
	t.node = cfg
	return t, nil
}

// output prints results as text or JSON.
type output struct {
	w      io.Writer
	asJSON bool
}

func (o output) json(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (o output) status(st replay.Status, probe *replay.ProbeResult) error {
	if o.asJSON {
		return o.json(map[string]any{"dlq": st, "node": probe})
	}
	w := o.w
	fmt.Fprintf(w, "dead-letter queue %s\n", st.Queue)
	fmt.Fprintf(w, "  visible %d   in flight %d   delayed %d   (SQS's approximate counts)\n", st.Visible, st.InFlight, st.Delayed)
	coverage := "a sample"
	if st.SampleComplete {
		coverage = "every visible message"
	}
	fmt.Fprintf(w, "  sampled %d (%s): %d records\n", st.Sampled, coverage, st.Records)
	if !st.OldestFirstFailure.IsZero() {
		fmt.Fprintf(w, "  oldest first failure %s (%s ago)\n", st.OldestFirstFailure.UTC().Format(time.RFC3339),
			(time.Duration(st.OldestAgeSeconds) * time.Second).String())
	}
	fmt.Fprintf(w, "  parked %d (replayed %d times, or too old): replay skips them; see docs/runbook.md\n", st.Parked, st.MaxReplays)
	if len(st.ByReason) > 0 {
		fmt.Fprintln(w, "  by reason:")
		for _, r := range st.ByReason {
			fmt.Fprintf(w, "    %6d messages %9d records  %s\n", r.Messages, r.Records, r.Reason)
		}
	}
	if f := st.IngestFailures; f != nil {
		fmt.Fprintf(w, "ingest failure queue: visible %d   in flight %d   (re-ingest with gwtap dlq reingest)\n", f.Visible, f.InFlight)
	}
	if probe != nil {
		fmt.Fprintf(w, "node %s: %s\n", probe.Node, probe.Summary)
	}
	return nil
}

func (o output) peek(msgs []replay.Message) error {
	if o.asJSON {
		return o.json(map[string]any{"messages": msgs})
	}
	if len(msgs) == 0 {
		fmt.Fprintln(o.w, "the dead-letter queue has no visible message")
	}
	for _, m := range msgs {
		fmt.Fprintf(o.w, "message %s  sent %s  %d bytes\n", m.ID, m.SentAt.UTC().Format(time.RFC3339), m.BodyBytes)
		fmt.Fprintf(o.w, "  reason       %s\n", m.Reason)
		if m.Status != 0 {
			fmt.Fprintf(o.w, "  node status  %d\n", m.Status)
		}
		fmt.Fprintf(o.w, "  replays      %d\n  first failed %s\n", m.ReplayCount, m.FirstFailure.UTC().Format(time.RFC3339))
		if m.Parked != "" {
			fmt.Fprintf(o.w, "  PARKED       %s\n", m.Parked)
		}
		if r := m.Records; r != nil {
			fmt.Fprintf(o.w, "  records      %d, first ids %s\n", r.Count, strings.Join(r.FirstIDs, ", "))
			for _, e := range r.Endpoints {
				fmt.Fprintf(o.w, "    %6d  %s\n", e.Count, e.Endpoint)
			}
		} else {
			fmt.Fprintf(o.w, "  records      cannot be decoded: %s\n", m.DecodeError)
		}
		for _, k := range sortedKeys(m.Attributes) {
			fmt.Fprintf(o.w, "  %-26s %s\n", k, m.Attributes[k])
		}
	}
	return nil
}

func (o output) redrive(r replay.RedriveResult) error {
	if o.asJSON {
		return o.json(r)
	}
	verb := "moved"
	if r.DryRun {
		verb = "would move"
	}
	fmt.Fprintf(o.w, "replay: %s %s (%d records) in %.1fs; stopped: %s\n", verb, plural(r.Moved, "message"), r.Records, r.ElapsedSeconds, cmp.Or(r.Stop, "error"))
	fmt.Fprintf(o.w, "  looked at %d   parked %d   skipped %d   failed %d\n", r.Received, r.Parked, r.Skipped, r.Failed)
	if r.Split > 0 {
		fmt.Fprintf(o.w, "  %d messages were too large for the traffic queue and went as %d smaller ones\n", r.Split, r.Sent)
	}
	if r.NotDeleted > 0 {
		fmt.Fprintf(o.w, "  %d messages were copied but not deleted from the DLQ: a later replay sends them again, and the node drops the duplicates\n", r.NotDeleted)
	}
	if r.Parked > 0 {
		fmt.Fprintln(o.w, "  parked messages stay in the DLQ: see why with `gwtap dlq peek`, and docs/runbook.md")
	}
	return nil
}

func (o output) reingest(r replay.ReingestResult) error {
	if o.asJSON {
		return o.json(r)
	}
	verb := "re-ingested"
	if r.DryRun {
		verb = "could re-ingest"
	}
	fmt.Fprintf(o.w, "reingest: %s %s (%d records enqueued) in %.1fs; stopped: %s\n", verb, plural(r.Reingested, "event"), r.Records, r.ElapsedSeconds, cmp.Or(r.Stop, "error"))
	fmt.Fprintf(o.w, "  looked at %d   failed again %d   unusable %d (left in the queue)\n", r.Received, r.Failed, r.Unusable)
	return nil
}

// progressBar redraws one line on stderr with \r.
type progressBar struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
	res   replay.RedriveResult
}

func (p *progressBar) update(r replay.RedriveResult) {
	p.res = r
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.draw()
}

func (p *progressBar) draw() {
	p.last = time.Now()
	r := p.res
	done := r.Moved + r.Parked + r.Skipped + r.Failed
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = min(done*width/p.total, width)
	}
	secs := max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  moved %d  parked %d  skipped %d  failed %d  %.1f msg/s ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, p.total, r.Moved, r.Parked, r.Skipped, r.Failed, float64(r.Moved)/secs)
}

func (p *progressBar) finish() {
	p.draw()
	fmt.Fprintln(p.w)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
