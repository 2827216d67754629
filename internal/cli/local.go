package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/local"
)

// runLocal runs the whole pipeline on this machine: local SQS, ingest,
// forward through an emulated event source mapping, and the node.
func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("local", "local [flags] [INPUT ...]\n\nRuns the whole pipeline on this machine with the code the Lambdas run: a local SQS\n(npm local-aws-sqs) with the template's queues, the ingest function fed with INPUT, the forward\nfunction behind an emulated SQS event source mapping, and the node with its inventory page.\n\nINPUT: CloudWatch Logs subscription events (*.json from `gwtap events`), the JSON output of\n`aws logs filter-log-events` or `aws logs get-log-events`, or raw access-log files (any format\ngwtap parses); directories are read for *.json and *.log. Default: events/cloudwatch-*.json.", stderr)
	once := fs.Bool("once", false, "exit after the summary instead of serving the node and the queues until Ctrl-C")
	appID := fs.String("app", envOr(ingest.EnvAppID, "-1"), "application id stamped on records")
	data := fs.String("data", filepath.Join(".gwtap", "local"), "directory of the node's SQLite database")
	fresh := fs.Bool("fresh", true, "start from an empty inventory (delete the local node database first)")
	addr := fs.String("addr", "127.0.0.1:8080", "the node's listen address (a free port when taken)")
	downFor := fs.Duration("node-down-for", 0, "make the node refuse batches (503) for this long at the start, to watch retries and redelivery")
	visibility := fs.Duration("visibility-timeout", local.DefaultVisibilityTimeout, "traffic queue visibility timeout (the template's 180 s would stall local retries)")
	verbose := fs.Bool("v", false, "log the functions and the node as JSON on stderr")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	inputs, err := expandInputs(fs.Args())
	if err != nil {
		return err
	}
	var evs []events.CloudwatchLogsEvent
	for _, in := range inputs {
		e, err := loadInput(in)
		if err != nil {
			return err
		}
		evs = append(evs, e...)
	}
	if *fresh {
		if err := os.RemoveAll(*data); err != nil {
			return fmt.Errorf("clearing %s: %w", *data, err)
		}
	}

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if *verbose {
		log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	fault := &local.Fault{}
	fmt.Fprintf(stdout, "starting local SQS, the node and the forward pollers… (%s, data in %s)\n", plural(len(evs), "event"), *data)
	p, err := local.Start(ctx, local.Options{DataDir: *data, NodeAddr: *addr, AppID: *appID, VisibilityTimeout: *visibility, Fault: fault, Log: log})
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stdout, "node: %s/\n", p.NodeURL())
	if *downFor > 0 {
		fault.Set(true)
		fmt.Fprintf(stdout, "node refusing batches for %v (-node-down-for)\n", *downFor)
		time.AfterFunc(*downFor, func() { fault.Set(false) })
	}

	start := time.Now()
	ingestErr := p.Ingest(ctx, evs)
	bar := newProgress(stderr)
	c, err := p.Drain(ctx, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	printSummary(stdout, c, p, time.Since(start))
	if ingestErr != nil {
		return fmt.Errorf("ingest: %w", ingestErr)
	}
	if *once {
		return nil
	}
	fmt.Fprintf(stdout, "\nserving the inventory at %s/ — Ctrl-C to stop\n", p.NodeURL())
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	return nil
}

// expandInputs turns directories into their *.json and *.log files; no
// input means the bundled events.
func expandInputs(args []string) ([]string, error) {
	if len(args) == 0 {
		m, err := filepath.Glob(filepath.Join("events", "cloudwatch-*.json"))
		if err != nil || len(m) == 0 {
			return nil, fmt.Errorf("%w: no INPUT given and no events/cloudwatch-*.json here (run from the repository root)", ErrUsage)
		}
		return m, nil
	}
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		for _, pat := range []string{"*.json", "*.log"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			out = append(out, m...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no input files found")
	}
	return out, nil
}

// progress draws a one-line progress bar on a terminal and stays silent
// elsewhere (logs and CI get the summary only).
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, tty: tty}
}

func (p *progress) update(c local.Counts) {
	if !p.tty {
		return
	}
	const width = 30
	total := max(c.Enqueued, 1)
	done := min(c.Delivered+c.Duplicates+c.Rejected, total)
	n := done * width / total
	line := fmt.Sprintf("\r[%s%s] %d/%d records delivered · %d queued · %d in flight · %d redelivered · DLQ %d ",
		strings.Repeat("#", n), strings.Repeat(".", width-n), c.Delivered, c.Enqueued, c.InQueue, c.InFlight, c.Redelivered, c.InDLQ)
	if line != p.last {
		fmt.Fprint(p.w, line)
		p.last = line
	}
}

func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

func printSummary(w io.Writer, c local.Counts, p *local.Pipeline, took time.Duration) {
	fmt.Fprintf(w, "\nsummary (%v)\n", took.Round(time.Millisecond))
	fmt.Fprintf(w, "  lines read        %d\n", c.Lines)
	fmt.Fprintf(w, "  records parsed    %d\n", c.Parsed)
	fmt.Fprintf(w, "  lines unparsed    %d\n", c.Unparsed)
	fmt.Fprintf(w, "  records enqueued  %d in %s\n", c.Enqueued, plural(c.Messages, "message"))
	fmt.Fprintf(w, "  delivered         %d\n", c.Delivered)
	fmt.Fprintf(w, "  duplicates        %d\n", c.Duplicates)
	fmt.Fprintf(w, "  rejected          %d\n", c.Rejected)
	fmt.Fprintf(w, "  dead-lettered     %s (DLQ holds %d)\n", plural(c.DeadLettered, "message"), c.InDLQ)
	fmt.Fprintf(w, "  redelivered       %s, %d retries\n", plural(c.Redelivered, "message"), c.Retries)
	fmt.Fprintf(w, "  records at node   %d\n", c.NodeRecords)
	if c.IngestFailed > 0 {
		fmt.Fprintf(w, "  ingest failures   %d (Lambda would retry them, then keep them in IngestFailureQueue)\n", c.IngestFailed)
	}
	top := p.TopEndpoints(10)
	fmt.Fprintf(w, "\ninventory: %s; the most requested:\n", plural(len(p.Endpoints()), "endpoint"))
	for _, e := range top {
		fmt.Fprintf(w, "  %6d  %-6s %s%s\n", e.Requests, e.Method, e.Host, e.Template)
	}
	fmt.Fprintf(w, "\ninventory page: %s/   OpenAPI: %s/v1/openapi.json\n", p.NodeURL(), p.NodeURL())
}
