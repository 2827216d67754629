package benchlambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/lambdaemu"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/localsqs/localsqstest"
	"github.com/gwtap/gwtap/internal/synth"
)

// moduleRoot is where go build runs, relative to this package.
const moduleRoot = "../.."

// archs maps the template's Architecture values to GOARCH.
var archs = []struct{ name, goarch string }{{"arm64", "arm64"}, {"x86_64", "amd64"}}

// build compiles functions/name for goarch into a fresh directory, with the
// Makefile's flags (lambdaemu.BuildFlags), and returns the bootstrap's path.
func build(b *testing.B, name, goarch string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), name, "bootstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := lambdaemu.Build(ctx, lambdaemu.BuildOptions{
		Dir: moduleRoot, Package: "./functions/" + name, Output: out, GOOS: "linux", GOARCH: goarch, Force: true,
	}); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkBootstrapSize builds every function for arm64 and x86_64 as the
// Makefile does and reports each bootstrap's size in bytes. The timing is
// meaningless; bootstrap-bytes is the figure.
func BenchmarkBootstrapSize(b *testing.B) {
	fns, err := os.ReadDir(filepath.Join(moduleRoot, "functions"))
	if err != nil {
		b.Fatal(err)
	}
	for _, fn := range fns {
		if !fn.IsDir() {
			continue
		}
		for _, a := range archs {
			b.Run(fn.Name()+"/"+a.name, func(b *testing.B) {
				fi, err := os.Stat(build(b, fn.Name(), a.goarch))
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
				}
				b.ReportMetric(float64(fi.Size()), "bootstrap-bytes")
			})
		}
	}
}

// payload returns a CloudWatch Logs subscription event of synthetic seed
// format lines whose compressed data is at least 1 MiB, like the largest
// delivery CloudWatch makes, and its record count.
func payload(b *testing.B) ([]byte, int) {
	b.Helper()
	g := synth.New(99, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	p := &cwlogs.Payload{MessageType: cwlogs.DataMessage, Owner: localsqs.AccountID, LogGroup: "/aws/apigateway/shop", LogStream: "s"}
	for n := 4096; ; n *= 2 {
		for i := len(p.LogEvents); i < n; i++ {
			p.LogEvents = append(p.LogEvents, cwlogs.LogEvent{
				ID: fmt.Sprintf("%056d", i), Timestamp: 1796083200000 + int64(i), Message: synth.SeedJSON(g.Next()),
			})
		}
		data, err := cwlogs.Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		if base64.StdEncoding.DecodedLen(len(data)) >= 1<<20 {
			ev, err := json.Marshal(events.CloudwatchLogsEvent{AWSLogs: events.CloudwatchLogsRawData{Data: data}})
			if err != nil {
				b.Fatal(err)
			}
			return ev, n
		}
	}
}

// BenchmarkIngestBootstrap runs the ingest bootstrap built for this machine
// under the Lambda emulator at 128 MB, with a local SQS as its queue, one
// cold start per iteration on a ~1 MiB compressed delivery. It reports the
// process's peak resident set (VmHWM: heap, stacks, runtime and the mapped
// binary, so above the Go heap) over all iterations, and the mean time from
// process start to its first /next request.
func BenchmarkIngestBootstrap(b *testing.B) {
	event, n := payload(b)
	bootstrap := build(b, "ingest", runtime.GOARCH)
	srv := localsqstest.Start(b)
	qs, err := srv.CreateQueues(b.Context(), localsqs.QueueSpec{Name: "gwtap-traffic", MaximumMessageSize: 256 << 10})
	if err != nil {
		b.Fatal(err)
	}
	cfg := lambdaemu.Config{
		Bootstrap: bootstrap, FunctionName: "IngestFunction", MemoryMB: 128, Timeout: 30 * time.Second,
		Region: localsqs.Region, AccountID: localsqs.AccountID, LogFormat: "JSON", LogLevel: "WARN",
		Env: map[string]string{
			"GWTAP_QUEUE_URL": qs.Traffic.URL, "X_WALLARM_APPLICATION_ID": "7",
			"AWS_ENDPOINT_URL_SQS": srv.Endpoint(),
		},
		Credentials: lambdaemu.Credentials{AccessKeyID: "AKIDGWTAPBENCH", SecretAccessKey: "gwtap-bench-secret"},
		// Report the peak even past 128 MB instead of killing the process.
		IgnoreMemoryLimit: true,
	}
	var peak int64
	var firstNext []time.Duration
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		e, err := lambdaemu.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		res, err := e.Invoke(b.Context(), event)
		if err == nil && res.FunctionError != nil {
			err = fmt.Errorf("%v\n%s", res.FunctionError, res.Logs)
		}
		st := e.Stats()
		if cerr := e.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, st.PeakRSS, res.MaxMemoryUsed)
		firstNext = append(firstNext, st.FirstNext)
	}
	var sum time.Duration
	for _, d := range firstNext {
		sum += d
	}
	b.ReportMetric(float64(n), "records/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
	b.ReportMetric(float64(sum)/float64(len(firstNext))/float64(time.Millisecond), "first-next-ms")
	b.ReportMetric(float64(slices.Max(firstNext))/float64(time.Millisecond), "first-next-max-ms")
}
