package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/gwtap/gwtap/internal/ingest
BenchmarkIngest-2        	      10	 100000000 ns/op	 500000 records/s	 2000 sqs-req/Mrec	 40000000 B/op	 80 allocs/op
BenchmarkIngest-2        	      10	 100000000 ns/op	 700000 records/s	 2200 sqs-req/Mrec	 40000000 B/op	 80 allocs/op
BenchmarkIngestNaive-2   	       1	 900000000 ns/op	  30000 records/s
BenchmarkGzipDecode-2    	      20	  50000000 ns/op	1000000 records/s
PASS
`

// full is a canned run of every benchmark the report reads, with round
// numbers so the modelled costs can be checked by hand.
const full = `goos: linux
goarch: arm64
pkg: github.com/gwtap/gwtap/internal/ingest
BenchmarkIngest-2   	      50	  20000000 ns/op	  52.43 MB/s	 1000000 records/s	 2000 sqs-req/Mrec	 30000000 B/op	 100 allocs/op
BenchmarkIngestNaive-2   	       5	 400000000 ns/op	   50000 records/s
BenchmarkGzipDecode-2    	      100	  10000000 ns/op	2000000 records/s
pkg: github.com/gwtap/gwtap/internal/forward
BenchmarkForward-2   	      20	  50000000 ns/op	  200000 records/s
pkg: github.com/gwtap/gwtap/internal/node
BenchmarkNodeIngest/identity-2   	      20	  50000000 ns/op	  150000 records/s	  120000 records/cpu-s
BenchmarkNodeIngest/zstd-2   	      20	  50000000 ns/op	  250000 records/s
pkg: github.com/gwtap/gwtap/internal/discovery
BenchmarkDiscover/Add/synth-2         	 1000000	      1168 ns/op	    856524 records/s
BenchmarkDiscover/Endpoints-2         	    2980	    421691 ns/op	        33.00 endpoints
pkg: github.com/gwtap/gwtap/internal/local
BenchmarkPipeline-2   	       1	20000000000 ns/op	 1000000 records/op	 50000 records/s	 150 sqs-msgs/op
pkg: github.com/gwtap/gwtap/internal/benchlambda
BenchmarkBootstrapSize/ingest/arm64-2   	1000000	       1.0 ns/op	   7798946 bootstrap-bytes
BenchmarkBootstrapSize/ingest/x86_64-2  	1000000	       1.0 ns/op	  10500000 bootstrap-bytes
    bench_lambda_test.go:10: BenchmarkBootstrapSize/ingest/x86_64 log line 1 2 3 4
BenchmarkIngestBootstrap-2   	       3	 400000000 ns/op	 5.80 MB/s	 4.0 first-next-max-ms	 3.0 first-next-ms	 72.5 peak-rss-MB	 32768 records/op
PASS
`

func testModel() model {
	return model{MemoryMB: 128, MemorySource: "test", BatchSize: 10, GBSecond: 0.0000133334, LambdaRequests: 0.20, SQSRequests: 0.40}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestParse(t *testing.T) {
	r, err := parse(strings.NewReader(sample + full))
	if err != nil {
		t.Fatal(err)
	}
	if r.goos != "linux" || r.goarch != "amd64" {
		t.Errorf("header %s/%s, want the first one's linux/amd64", r.goos, r.goarch)
	}
	for _, tt := range []struct {
		bench, unit string
		want        float64
	}{
		{"BenchmarkIngest", "records/s", (500000 + 700000 + 1000000) / 3.0}, // mean of every run
		{"BenchmarkIngest", "sqs-req/Mrec", (2000 + 2200 + 2000) / 3.0},
		{"BenchmarkIngest", "MB/s", 52.43}, // only one run reported it
		{"BenchmarkBootstrapSize/ingest/x86_64", "bootstrap-bytes", 10500000},
		{"BenchmarkIngestBootstrap", "peak-rss-MB", 72.5},
		{"BenchmarkPipeline", "records/op", 1e6},
	} {
		if got := r.results[tt.bench][tt.unit]; !near(got, tt.want) {
			t.Errorf("%s %s = %v, want %v", tt.bench, tt.unit, got, tt.want)
		}
	}
	if _, ok := r.results["BenchmarkBootstrapSize/ingest/x86_64"]["log"]; ok {
		t.Error("a log line was read as a result")
	}
	if got := strings.Join(r.order[:3], ","); got != "BenchmarkIngest,BenchmarkIngestNaive,BenchmarkGzipDecode" {
		t.Errorf("order %s", got)
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkIngest-2":                      "BenchmarkIngest",
		"BenchmarkIngest-16":                     "BenchmarkIngest",
		"BenchmarkIngest":                        "BenchmarkIngest", // GOMAXPROCS=1
		"BenchmarkBootstrapSize/ingest/x86_64-2": "BenchmarkBootstrapSize/ingest/x86_64",
		"BenchmarkBootstrapSize/ingest/x86_64":   "BenchmarkBootstrapSize/ingest/x86_64",
		"BenchmarkX/a-b":                         "BenchmarkX/a-b",
		"BenchmarkX-":                            "BenchmarkX-",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGlobalsMemorySize(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		mb         int
		ok, err    bool
	}{
		{"globals", "Parameters:\n  MemorySize:\n    Default: 512\nGlobals:\n  Function:\n    # c\n    Runtime: provided.al2023\n    MemorySize: 256\n    Timeout: 30\nResources:\n", 256, true, false},
		{"unset", "Globals:\n  Function:\n    Timeout: 30\nResources:\n  F:\n    Properties:\n      MemorySize: 1024\n", 0, false, false},
		{"api globals only", "Globals:\n  Api:\n    MemorySize: 512\n  Function:\n    Timeout: 3\n", 0, false, false},
		{"not a number", "Globals:\n  Function:\n    MemorySize: !Ref Mem\n", 0, false, true},
		{"too small", "Globals:\n  Function:\n    MemorySize: 64\n", 0, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mb, ok, err := globalsMemorySize(strings.NewReader(tt.yaml))
			if mb != tt.mb || ok != tt.ok || (err != nil) != tt.err {
				t.Errorf("= %d, %v, %v; want %d, %v, error %v", mb, ok, err, tt.mb, tt.ok, tt.err)
			}
		})
	}
}

func TestGlobalsMemorySizeOfTemplate(t *testing.T) {
	f, err := os.Open("../../template.yaml")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if mb, ok, err := globalsMemorySize(f); err != nil || !ok || mb < 128 {
		t.Errorf("template.yaml: %d, %v, %v", mb, ok, err)
	}
}

func TestCostModel(t *testing.T) {
	r, err := parse(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := costInputs(r.results)
	if !ok {
		t.Fatal("no cost inputs")
	}
	// Ingest: 20,000 records per delivery in 20 ms; forward: 10,000
	// records in 10 messages in 50 ms, so 5 µs a record.
	if !near(in.IngestRecords, 20000) || !near(in.ForwardRecords, 10000) || !near(in.forwardNsPerRecord(), 5000) {
		t.Fatalf("inputs %+v", in)
	}
	m := testModel()
	for _, tt := range []struct {
		name                   string
		c                      cost
		ingestInv, forwardInv  float64
		forwardMs, gbs, sqsReq float64
		lambda, total          float64
	}{
		// 50 × 20 ms + 100 × 50 ms = 6 s at 0.125 GB.
		{"packed", m.packed(in), 50, 100, 50, 0.75, 2000,
			0.75*0.0000133334 + 150*0.2/1e6, 0.75*0.0000133334 + 150*0.2/1e6 + 2000*0.4/1e6},
		// 10 records take 0.05 ms, billed 1 ms: 50 × 20 ms + 100,000 × 1 ms = 101 s.
		{"one record per message", m.oneRecordPerMessage(in), 50, 100000, 1, 12.625, 3e6,
			12.625*0.0000133334 + 100050*0.2/1e6, 12.625*0.0000133334 + 100050*0.2/1e6 + 1.2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if !near(c.IngestInvocations, tt.ingestInv) || !near(c.ForwardInvocations, tt.forwardInv) ||
				!near(c.ForwardBilledMs, tt.forwardMs) || !near(c.GBSeconds, tt.gbs) || !near(c.SQSRequests, tt.sqsReq) {
				t.Errorf("cost %+v", c)
			}
			if !near(c.LambdaCost(m), tt.lambda) || !near(c.Total(m), tt.total) {
				t.Errorf("lambda $%v total $%v, want $%v $%v", c.LambdaCost(m), c.Total(m), tt.lambda, tt.total)
			}
		})
	}
	// A larger batch size halves forward invocations of packed messages.
	m.BatchSize = 5
	if c := m.packed(in); !near(c.ForwardInvocations, 200) || !near(c.ForwardBilledMs, 25) {
		t.Errorf("batch size 5: %+v", c)
	}
}

func TestUSD(t *testing.T) {
	for v, want := range map[float64]string{0: "0.00", 1.2201: "1.22", 12.5: "12.50", 0.0202: "0.0202", 0.00084: "0.000840", 4.000005e-05: "0.0000400"} {
		if got := usd(v); got != want {
			t.Errorf("usd(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestBilledMs(t *testing.T) {
	for ns, want := range map[float64]float64{0: 1, 1: 1, 999_999: 1, 1e6: 1, 1_000_001: 2, 20e6: 20, 20.5e6: 21} {
		if got := billedMs(ns); got != want {
			t.Errorf("billedMs(%v) = %v, want %v", ns, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input string
		want  map[string]struct {
			v   float64
			met *bool
		}
		absent []string
	}{
		{
			name:  "ingest only",
			input: sample,
			want: map[string]struct {
				v   float64
				met *bool
			}{
				"ingest ÷ naive baseline":                         {20, ptr(true)},
				"ingest ÷ gzip decoding":                          {0.6, ptr(true)},
				"billed SQS requests per million records":         {2100, ptr(true)},
				"ingest CPU path (decode, parse, pack, compress)": {600000, ptr(false)},
			},
			// without BenchmarkForward there is nothing to model
			absent: []string{"modelled AWS cost per million records, packed envelopes", "bootstrap size: ingest arm64"},
		},
		{
			name:   "every benchmark",
			input:  full,
			absent: []string{"discovery (templating + aggregation), Endpoints", "node ingest (HTTP handler into SQLite)"},
			want: map[string]struct {
				v   float64
				met *bool
			}{
				"ingest ÷ naive baseline":                                                {20, ptr(true)},
				"node ingest (HTTP handler into SQLite), identity":                       {150000, ptr(false)},
				"node ingest (HTTP handler into SQLite), zstd":                           {250000, ptr(true)},
				"discovery (templating + aggregation), Add/synth":                        {856524, nil},
				"local pipeline end to end (ingest → local SQS → forward → node)":        {50000, nil},
				"modelled Lambda GB-seconds per million records, packed":                 {0.75, nil},
				"modelled Lambda invocations per million records, packed":                {150, nil},
				"modelled AWS cost per million records, packed envelopes":                {0.75*0.0000133334 + 150*0.2/1e6 + 0.0008, nil},
				"modelled Lambda GB-seconds per million records, one record per message": {12.625, nil},
				"modelled AWS cost per million records, one record per message":          {12.625*0.0000133334 + 100050*0.2/1e6 + 1.2, nil},
				"cost ratio: one record per message ÷ packed":                            {(12.625*0.0000133334 + 100050*0.2/1e6 + 1.2) / (0.75*0.0000133334 + 150*0.2/1e6 + 0.0008), nil},
				"bootstrap size: ingest arm64":                                           {7.798946, ptr(true)},
				"bootstrap size: ingest x86_64":                                          {10.5, ptr(false)},
				"ingest bootstrap peak RSS on a 1 MiB compressed delivery":               {72.5, ptr(false)},
				"ingest bootstrap cold start (process start → first /next)":              {3, nil},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parse(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			rows := report(r, testModel())
			seen := map[string]bool{}
			for _, r := range rows {
				if seen[r.Figure] {
					t.Errorf("row %q twice", r.Figure)
				}
				seen[r.Figure] = true
				w, ok := tt.want[r.Figure]
				if !ok {
					continue
				}
				if !near(r.Value, w.v) || (r.Met == nil) != (w.met == nil) || (r.Met != nil && *r.Met != *w.met) {
					t.Errorf("%s = %v (met %v), want %v (met %v)", r.Figure, r.Value, fmtMet(r.Met), w.v, fmtMet(w.met))
				}
			}
			for f := range tt.want {
				if !seen[f] {
					t.Errorf("missing row %q", f)
				}
			}
			for _, f := range tt.absent {
				if seen[f] {
					t.Errorf("unexpected row %q", f)
				}
			}
		})
	}
}

func ptr(b bool) *bool { return &b }

func fmtMet(b *bool) string {
	if b == nil {
		return "-"
	}
	if *b {
		return "yes"
	}
	return "no"
}

func TestMarkdown(t *testing.T) {
	r, err := parse(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	md := markdown(report(r, testModel()))
	for _, want := range []string{
		"| figure | value | target | met |\n",
		"| ingest ÷ naive baseline | 20 × | ≥ 20 | yes |\n",
		"| bootstrap size: ingest x86_64 (MB = 10⁶ bytes; -trimpath -ldflags '-s -w' -tags lambda.norpc) | 10.5 MB | ≤ 10 | **no** |\n",
		"| ingest bootstrap peak RSS on a 1 MiB compressed delivery (linux/arm64, 32768 records;",
		"| 0.000840 USD |  |  |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestRunWritesBothFiles(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte("Globals:\n  Function:\n    MemorySize: 256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := testModel()
	m.MemoryMB = 0
	md, js := filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json")
	var out bytes.Buffer
	if err := run1(m, tpl, md, js, strings.NewReader(full), &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil || string(b) != out.String() {
		t.Fatalf("report.md differs from stdout: %v", err)
	}
	if !strings.Contains(out.String(), "256 MB from "+tpl+" Globals") {
		t.Errorf("memory size not read from the template:\n%s", out.String())
	}
	var rows []row
	b, err = os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		// twice the memory, twice the GB-seconds of TestCostModel
		if r.Figure == "modelled Lambda GB-seconds per million records, packed" && !near(r.Value, 1.5) {
			t.Errorf("GB-s at 256 MB = %v, want 1.5", r.Value)
		}
	}
	m.BatchSize = 0
	if err := run1(m, "", "", "", strings.NewReader(full), &out); err == nil {
		t.Error("batch size 0 accepted")
	}
}
