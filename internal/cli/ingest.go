package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/ingest"
)

// runIngest runs the real ingest handler on event files against a queue,
// with the caller's AWS credentials (or AWS_ENDPOINT_URL_SQS for a stand-in).
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", "ingest -queue-url URL [flags] INPUT ...\n\nINPUT is a CloudWatch Logs subscription event (*.json, e.g. from `gwtap events`) or a raw\naccess-log file (any other name). Uses your AWS credentials and region; set\nAWS_ENDPOINT_URL_SQS to use a local SQS.", stderr)
	queueURL := fs.String("queue-url", os.Getenv(ingest.EnvQueueURL), "traffic queue URL (default $"+ingest.EnvQueueURL+")")
	appID := fs.String("app", envOr(ingest.EnvAppID, "-1"), "application id stamped on records (default $"+ingest.EnvAppID+" or -1)")
	verbose := fs.Bool("v", false, "log every invocation as JSON on stderr")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no input given", ErrUsage)
	}
	cfg, err := ingest.LoadConfig(overlay(map[string]string{ingest.EnvQueueURL: *queueURL, ingest.EnvAppID: *appID}))
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	h, err := ingest.NewHandler(cfg, sqs.NewFromConfig(awsCfg), logger(stderr, *verbose), io.Discard)
	if err != nil {
		return err
	}
	sum, err := ingestInputs(ctx, h, fs.Args())
	sum.print(stdout)
	return err
}

// overlay returns a getenv that prefers the non-empty values in m.
func overlay(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok && v != "" {
			return v
		}
		return os.Getenv(k)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func logger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// ingestSummary adds up what the invocations did.
type ingestSummary struct {
	events, control, failed int
	st                      ingest.Stats
	elapsed                 time.Duration
}

func (s *ingestSummary) add(r ingest.Result) {
	s.events++
	if r.Control {
		s.control++
		return
	}
	s.st.Lines += r.Stats.Lines
	s.st.Parsed += r.Stats.Parsed
	s.st.Unparsed += r.Stats.Unparsed
	s.st.TooLarge += r.Stats.TooLarge
	s.st.Messages += r.Stats.Messages
	s.st.Enqueued += r.Stats.Enqueued
	s.st.RawBytes += r.Stats.RawBytes
	s.st.BodyBytes += r.Stats.BodyBytes
}

func (s *ingestSummary) print(w io.Writer) {
	fmt.Fprintf(w, "ingest: %s (%d control, %d failed) in %v\n", plural(s.events, "event"), s.control, s.failed, s.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  lines read       %d\n  records parsed   %d\n  lines unparsed   %d\n  records enqueued %d in %s\n",
		s.st.Lines, s.st.Parsed, s.st.Unparsed, s.st.Enqueued, plural(s.st.Messages, "message"))
	if s.st.RawBytes > 0 {
		fmt.Fprintf(w, "  compression      %d → %d bytes (%.1fx)\n", s.st.RawBytes, s.st.BodyBytes, float64(s.st.RawBytes)/float64(max(s.st.BodyBytes, 1)))
	}
}

// ingestInputs runs h on every input; a failed input is reported and the
// rest still run.
func ingestInputs(ctx context.Context, h *ingest.Handler, inputs []string) (ingestSummary, error) {
	var sum ingestSummary
	start := time.Now()
	defer func() { sum.elapsed = time.Since(start) }()
	var firstErr error
	for _, in := range inputs {
		evs, err := loadInput(in)
		if err != nil {
			return sum, err
		}
		for _, ev := range evs {
			r, err := h.Handle(ctx, ev)
			if err != nil {
				sum.failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", in, err)
				}
				continue
			}
			sum.add(r)
		}
	}
	sum.elapsed = time.Since(start)
	return sum, firstErr
}

// loadInput reads a subscription event file (one or several events), the
// JSON output of `aws logs filter-log-events` / `get-log-events`, or turns
// a raw access log into events.
func loadInput(path string) ([]events.CloudwatchLogsEvent, error) {
	if strings.HasSuffix(path, ".json") {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading event: %w", err)
		}
		if evs, ok, err := fromLogsCLI(path, raw); ok || err != nil {
			return evs, err
		}
		var out []events.CloudwatchLogsEvent
		dec := json.NewDecoder(bytes.NewReader(raw))
		for dec.More() {
			var ev events.CloudwatchLogsEvent
			if err := dec.Decode(&ev); err != nil || ev.AWSLogs.Data == "" {
				return nil, fmt.Errorf("%s is neither a CloudWatch Logs subscription event ({\"awslogs\":{\"data\":...}}) nor `aws logs filter-log-events` output: %v", path, err)
			}
			out = append(out, ev)
		}
		return out, nil
	}
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return encodePayloads(payloads(defaultEventsOptions(), name, lines, time.Now().UTC(), false))
}

// logsCLIOutput is what `aws logs filter-log-events` and `get-log-events` print.
type logsCLIOutput struct {
	Events *[]struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		EventID       string `json:"eventId"`
	} `json:"events"`
}

// fromLogsCLI turns `aws logs` output into subscription events, one log
// stream per payload as CloudWatch delivers them; ok is false when raw is not
// such output.
func fromLogsCLI(path string, raw []byte) ([]events.CloudwatchLogsEvent, bool, error) {
	var out logsCLIOutput
	if json.Unmarshal(raw, &out) != nil || out.Events == nil {
		return nil, false, nil
	}
	o := defaultEventsOptions()
	o.logGroup = "/aws/apigateway/" + strings.TrimSuffix(filepath.Base(path), ".json")
	byStream := map[string][]*cwlogs.Payload{}
	var order []string
	for i, e := range *out.Events {
		stream := e.LogStreamName
		if stream == "" {
			stream = "get-log-events"
		}
		ps := byStream[stream]
		if len(ps) == 0 || len(ps[len(ps)-1].LogEvents) == maxEventsPerPayload {
			ps = append(ps, &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: o.owner, LogGroup: o.logGroup, LogStream: stream, SubscriptionFilters: []string{o.filter}})
			if len(byStream[stream]) == 0 {
				order = append(order, stream)
			}
			byStream[stream] = ps
		}
		id := e.EventID
		if id == "" {
			id = eventID(e.Timestamp, i)
		}
		last := ps[len(ps)-1]
		last.LogEvents = append(last.LogEvents, cwlogs.LogEvent{ID: id, Timestamp: e.Timestamp, Message: strings.TrimRight(e.Message, "\n")})
	}
	var all []*cwlogs.Payload
	for _, s := range order {
		all = append(all, byStream[s]...)
	}
	evs, err := encodePayloads(all)
	return evs, true, err
}

func encodePayloads(ps []*cwlogs.Payload) ([]events.CloudwatchLogsEvent, error) {
	out := make([]events.CloudwatchLogsEvent, 0, len(ps))
	for _, p := range ps {
		data, err := cwlogs.Encode(p)
		if err != nil {
			return nil, err
		}
		out = append(out, events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
	}
	return out, nil
}
