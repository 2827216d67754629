package local

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/synth"
)

// Size of BenchmarkPipeline's corpus: EnvBenchRecords overrides
// defaultBenchRecords (make bench passes BENCH_RECORDS through it).
const (
	EnvBenchRecords     = "GWTAP_BENCH_RECORDS"
	defaultBenchRecords = 1_000_000
	// linesPerDelivery is how many access-log lines one CloudWatch
	// subscription delivery (one ingest invocation) carries.
	linesPerDelivery = 10_000
)

func benchRecords(b *testing.B) int {
	s := os.Getenv(EnvBenchRecords)
	if s == "" {
		return defaultBenchRecords
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number of records", EnvBenchRecords, s)
	}
	return n
}

// benchCorpus returns n synthetic seed-format lines as subscription events
// of linesPerDelivery lines each, encoded on every core.
func benchCorpus(b *testing.B, n int) []events.CloudwatchLogsEvent {
	b.Helper()
	g := synth.New(5, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	var docs []*events.CloudwatchLogsData
	for i := range n {
		if i%linesPerDelivery == 0 {
			docs = append(docs, &events.CloudwatchLogsData{
				MessageType: cwlogs.DataMessage, Owner: localsqs.AccountID, LogGroup: "/aws/apigateway/shop",
				LogStream: fmt.Sprintf("stream-%d", len(docs)), SubscriptionFilters: []string{"gwtap"},
			})
		}
		d := docs[len(docs)-1]
		d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{
			ID: fmt.Sprintf("%056d", i), Timestamp: 1796083200000 + int64(i), Message: synth.SeedJSON(g.Next()),
		})
	}
	evs := make([]events.CloudwatchLogsEvent, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, d := range docs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			data, err := encodeFast(d)
			evs[i], errs[i] = events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}}, err
			docs[i] = nil
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return evs
}

// encodeFast is cwlogs.Encode at gzip's fastest level: the best level
// cwlogs.Encode uses for reproducible sample events takes minutes on a
// million lines, and the level does not change what ingest does.
func encodeFast(d *events.CloudwatchLogsData) (string, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(raw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// BenchmarkPipeline is the whole local pipeline end to end: ingest (one
// invocation per delivery of linesPerDelivery lines) into the local SQS,
// the forward pollers, and the node storing into SQLite, until the queue is
// drained. records/s counts records that reached the node, over the wall
// time of ingest plus drain; building the corpus and starting the stand-ins
// is not timed. GWTAP_BENCH_RECORDS sets the corpus size (1,000,000 by
// default). Later iterations re-send the same records, which the node
// counts as duplicates.
func BenchmarkPipeline(b *testing.B) {
	if _, err := os.Stat("../../node_modules/local-aws-sqs"); err != nil && os.Getenv("CI") == "" {
		b.Skip("local-aws-sqs is not installed: run npm ci")
	}
	n := benchRecords(b)
	evs := benchCorpus(b, n)
	p, err := Start(b.Context(), Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			b.Error(err)
		}
	}()
	var c Counts
	for b.Loop() {
		if err := p.Ingest(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
		if c, err = p.Drain(b.Context(), nil); err != nil {
			b.Fatal(err)
		}
	}
	total := n * b.N
	if c.Parsed != total || c.Enqueued != total || c.Delivered+c.Duplicates < total || c.NodeRecords != int64(n) || c.InDLQ != 0 {
		b.Fatalf("%d records, %d iterations: counts %+v", n, b.N, c)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n), "records/op")
	b.ReportMetric(float64(c.Messages)/float64(b.N), "sqs-msgs/op")
}
