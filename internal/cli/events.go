package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/synth"
)

// CloudWatch Logs delivers at most 10,000 events and about 1 MiB per batch.
const (
	maxEventsPerPayload = 10000
	maxBytesPerPayload  = 1 << 20
	// cwEventOverhead is what CloudWatch counts per event on top of the message.
	cwEventOverhead = 26
)

type eventsOptions struct {
	out, fromDir         string
	synthetic            int
	seed                 uint64
	control              bool
	logGroup, logStream  string
	owner, start, filter string
	maxEvents            int
	lines                bool
}

func runEvents(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("events", "events [flags] [FILE ...]\n\nReads access-log lines (one log event per line; '-' or no FILE reads stdin) and writes\nCloudWatch Logs subscription events, as `sam local generate-event cloudwatch logs` does,\nready for `gwtap invoke`, `gwtap ingest` or `sam local invoke -e`.", stderr)
	var o eventsOptions
	fs.StringVar(&o.out, "out", "", "write here instead of stdout: a file, or with -from-dir a directory")
	fs.StringVar(&o.fromDir, "from-dir", "", "make one event per *.log file in this directory, named cloudwatch-<name>.json in -out")
	fs.IntVar(&o.synthetic, "synthetic", 0, "generate this many lines of realistic synthetic traffic instead of reading files")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for -synthetic")
	fs.BoolVar(&o.lines, "lines", false, "with -synthetic: write the raw access-log lines instead of events")
	fs.BoolVar(&o.control, "control", false, "write the CONTROL_MESSAGE CloudWatch sends when a subscription is created")
	fs.StringVar(&o.logGroup, "log-group", "/aws/apigateway/gwtap-demo", "log group name in the event")
	fs.StringVar(&o.logStream, "log-stream", "", "log stream name (default: derived from the input name)")
	fs.StringVar(&o.owner, "owner", "123456789012", "AWS account id in the event")
	fs.StringVar(&o.filter, "filter", "gwtap", "subscription filter name in the event")
	fs.StringVar(&o.start, "start", "2026-12-01T00:00:00Z", "timestamp of the first log event (RFC 3339); each next one is 1 s later")
	fs.IntVar(&o.maxEvents, "max-events", maxEventsPerPayload, "log events per subscription event; larger inputs become several events")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, o.start)
	if err != nil {
		return fmt.Errorf("%w: -start: %v", ErrUsage, err)
	}
	if o.maxEvents < 1 || o.maxEvents > maxEventsPerPayload {
		return fmt.Errorf("%w: -max-events must be in [1, %d]", ErrUsage, maxEventsPerPayload)
	}
	switch {
	case o.control:
		return writeEvents(o, stdout, "control", []string{"CWL CONTROL MESSAGE: Checking health of destination Lambda."}, start, true)
	case o.fromDir != "":
		if o.out == "" {
			return fmt.Errorf("%w: -from-dir needs -out DIR", ErrUsage)
		}
		return eventsFromDir(o, start, stdout)
	case o.synthetic > 0:
		g := synth.New(o.seed, start)
		lines := make([]string, o.synthetic)
		for i := range lines {
			lines[i] = synth.SeedJSON(g.Next())
		}
		if o.lines {
			return writeLines(o.out, stdout, lines)
		}
		return writeEvents(o, stdout, "synthetic", lines, start, false)
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	var lines []string
	for _, f := range files {
		l, err := readLines(f)
		if err != nil {
			return err
		}
		lines = append(lines, l...)
	}
	name := strings.TrimSuffix(filepath.Base(files[0]), filepath.Ext(files[0]))
	return writeEvents(o, stdout, name, lines, start, false)
}

// eventsFromDir regenerates events/ from events/raw/: one event file per log file.
func eventsFromDir(o eventsOptions, start time.Time, stdout io.Writer) error {
	matches, err := filepath.Glob(filepath.Join(o.fromDir, "*.log"))
	if err != nil {
		return fmt.Errorf("listing %s: %w", o.fromDir, err)
	}
	if len(matches) == 0 {
		return fmt.Errorf("no *.log files in %s", o.fromDir)
	}
	sort.Strings(matches)
	dir := o.out
	for _, m := range matches {
		lines, err := readLines(m)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(m), ".log")
		o.out = filepath.Join(dir, "cloudwatch-"+name+".json")
		o.logStream = ""
		if err := writeEvents(o, stdout, name, lines, start, false); err != nil {
			return err
		}
	}
	return nil
}

func readLines(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading access log: %w", err)
		}
		defer f.Close()
		r = f
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return lines, nil
}

// payloads splits lines into subscription payloads within CloudWatch's limits.
func payloads(o eventsOptions, name string, lines []string, start time.Time, control bool) []*cwlogs.Payload {
	stream := o.logStream
	if stream == "" {
		stream = "gwtap-" + name
	}
	var out []*cwlogs.Payload
	var cur *cwlogs.Payload
	size := 0
	for i, line := range lines {
		if cur == nil || len(cur.LogEvents) == o.maxEvents || (len(cur.LogEvents) > 0 && size+len(line)+cwEventOverhead > maxBytesPerPayload) {
			cur = &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: o.owner, LogGroup: o.logGroup, LogStream: stream, SubscriptionFilters: []string{o.filter}}
			if control {
				cur = &cwlogs.Payload{MessageType: cwlogs.ControlMessage, Owner: "CloudwatchLogs", SubscriptionFilters: []string{}}
			}
			out = append(out, cur)
			size = 0
		}
		ts := start.Add(time.Duration(i) * time.Second).UnixMilli()
		cur.LogEvents = append(cur.LogEvents, cwlogs.LogEvent{ID: eventID(ts, i), Timestamp: ts, Message: line})
		size += len(line) + cwEventOverhead
	}
	return out
}

// writeEvents writes lines as subscription events. With several payloads, a
// file output gets -2, -3, … suffixes and stdout gets one event after another.
func writeEvents(o eventsOptions, stdout io.Writer, name string, lines []string, start time.Time, control bool) error {
	ps := payloads(o, name, lines, start, control)
	if len(ps) == 0 {
		return errors.New("no access-log lines to turn into events")
	}
	for k, p := range ps {
		data, err := cwlogs.Encode(p)
		if err != nil {
			return err
		}
		ev, err := json.MarshalIndent(events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}}, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
		ev = append(ev, '\n')
		if o.out == "" {
			if _, err := stdout.Write(ev); err != nil {
				return fmt.Errorf("writing event: %w", err)
			}
			continue
		}
		path := o.out
		if k > 0 {
			path = strings.TrimSuffix(path, ".json") + fmt.Sprintf("-%d.json", k+1)
		}
		if err := os.WriteFile(path, ev, 0o644); err != nil {
			return fmt.Errorf("writing event: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s (%s)\n", path, plural(len(p.LogEvents), "log event"))
	}
	return nil
}

// defaultEventsOptions are the values `gwtap events` uses without flags.
func defaultEventsOptions() eventsOptions {
	return eventsOptions{logGroup: "/aws/apigateway/gwtap-demo", owner: "123456789012", filter: "gwtap", maxEvents: maxEventsPerPayload}
}

// writeLines writes raw lines to path, or to stdout when path is empty.
func writeLines(path string, stdout io.Writer, lines []string) error {
	body := strings.Join(lines, "\n") + "\n"
	if path == "" {
		_, err := io.WriteString(stdout, body)
		return err
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return fmt.Errorf("writing lines: %w", err)
	}
	return nil
}

// eventID mimics CloudWatch's 56-digit event ids, deterministically.
func eventID(ts int64, i int) string {
	return fmt.Sprintf("%020d%036d", ts, i)
}
