// Command benchreport reads `go test -bench` output on stdin and writes one
// table of gwtap's performance figures, with the ratios and targets of
// DESIGN.md, as Markdown (stdout and -md) and JSON (-json). Every ratio is
// between benchmarks of the same run, so the machine's speed cancels out.
//
// Besides the benchmarks' own figures it models the AWS cost of a million
// records, packed into envelopes as gwtap does and one record per SQS
// message, from the measured per-record times, the functions' memory size
// (template.yaml's Globals) and list prices given as flags.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"strconv"
	"strings"
)

// result is one benchmark line's metrics, by unit.
type result map[string]float64

// run is a parsed `go test -bench` output.
type run struct {
	// results are by benchmark name without the GOMAXPROCS suffix, sub-benchmarks
	// included (BenchmarkBootstrapSize/ingest/arm64).
	results map[string]result
	// order lists the benchmark names in their first appearance.
	order []string
	// goos and goarch are from the first header that gives them.
	goos, goarch string
}

// row is one line of the report.
type row struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    *bool   `json:"met,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Fallbacks when template.yaml cannot be read.
const (
	// defaultMemoryMB is template.yaml's Globals.Function.MemorySize, which
	// IngestFunction and ForwardFunction inherit.
	defaultMemoryMB = 128
	// defaultBatchSize is the default of template.yaml's ForwardBatchSize
	// parameter: messages per ForwardFunction invocation.
	defaultBatchSize = 10
)

func main() {
	md := flag.String("md", "", "also write the Markdown table to this file")
	js := flag.String("json", "", "also write the figures as JSON to this file")
	tpl := flag.String("template", "template.yaml", "SAM template to read the functions' MemorySize from (Globals.Function); empty for -memory")
	m := model{BatchSize: defaultBatchSize}
	flag.IntVar(&m.MemoryMB, "memory", 0, "memory size of IngestFunction and ForwardFunction in MB (0: from -template, else 128)")
	flag.IntVar(&m.BatchSize, "batch-size", defaultBatchSize, "SQS messages per ForwardFunction invocation (the template's ForwardBatchSize)")
	flag.Float64Var(&m.GBSecond, "price-gb-second", 0.0000133334, "Lambda price per GB-second (arm64 list price, USD)")
	flag.Float64Var(&m.LambdaRequests, "price-lambda-requests", 0.20, "Lambda price per million requests (USD)")
	flag.Float64Var(&m.SQSRequests, "price-sqs-requests", 0.40, "SQS standard queue price per million requests (USD)")
	flag.Parse()
	if err := run1(m, *tpl, *md, *js, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run1(m model, tpl, md, js string, in io.Reader, out io.Writer) error {
	if m.MemoryMB == 0 {
		m.MemoryMB, m.MemorySource = defaultMemoryMB, "default"
		if tpl != "" {
			f, err := os.Open(tpl)
			if err != nil {
				return err
			}
			mb, ok, err := globalsMemorySize(f)
			_ = f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", tpl, err)
			}
			if ok {
				m.MemoryMB, m.MemorySource = mb, tpl+" Globals"
			}
		}
	} else {
		m.MemorySource = "-memory"
	}
	if m.BatchSize < 1 {
		return fmt.Errorf("-batch-size %d must be at least 1", m.BatchSize)
	}
	r, err := parse(in)
	if err != nil {
		return err
	}
	rows := report(r, m)
	table := markdown(rows)
	if _, err := io.WriteString(out, table); err != nil {
		return err
	}
	if md != "" {
		if err := os.WriteFile(md, []byte(table), 0o644); err != nil {
			return err
		}
	}
	if js != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(js, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// globalsMemorySize returns Globals.Function.MemorySize of a SAM template,
// read line by line (the template uses short-form tags a plain YAML decoder
// rejects); ok is false when it is not set.
func globalsMemorySize(r io.Reader) (mb int, ok bool, err error) {
	sc := bufio.NewScanner(r)
	section, inFunction := "", false
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0:
			section, inFunction = trimmed, false
		case section != "Globals:":
		case indent == 2:
			inFunction = trimmed == "Function:"
		case inFunction && indent == 4 && strings.HasPrefix(trimmed, "MemorySize:"):
			v := strings.TrimSpace(strings.TrimPrefix(trimmed, "MemorySize:"))
			mb, err := strconv.Atoi(v)
			if err != nil || mb < 128 {
				return 0, false, fmt.Errorf("Globals.Function.MemorySize %q is not a memory size in MB", v)
			}
			return mb, true, nil
		}
	}
	return 0, false, sc.Err()
}

// parse collects the metrics of every Benchmark line; a benchmark run
// several times (-count) keeps the mean.
func parse(r io.Reader) (run, error) {
	out := run{results: map[string]result{}}
	counts := map[string]map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "goos: "); ok && out.goos == "" {
			out.goos = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "goarch: "); ok && out.goarch == "" {
			out.goarch = strings.TrimSpace(v)
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (a benchmark's log output)
		}
		name := trimProcs(f[0])
		if out.results[name] == nil {
			out.results[name], counts[name] = result{}, map[string]int{}
			out.order = append(out.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			out.results[name][f[i+1]] += v
			counts[name][f[i+1]]++
		}
	}
	if err := sc.Err(); err != nil {
		return run{}, fmt.Errorf("reading benchmark output: %w", err)
	}
	for name, m := range out.results {
		for unit := range m {
			m[unit] /= float64(counts[name][unit])
		}
	}
	return out, nil
}

// each yields the positive figures in unit of bench and of its
// sub-benchmarks, in order, labelled "" for bench itself and ", sub/name"
// for a sub-benchmark.
func (r run) each(bench, unit string) iter.Seq2[string, float64] {
	return func(yield func(string, float64) bool) {
		for _, name := range r.order {
			label := ""
			if name != bench {
				sub, ok := strings.CutPrefix(name, bench+"/")
				if !ok {
					continue
				}
				label = ", " + sub
			}
			if v := r.results[name][unit]; v > 0 && !yield(label, v) {
				return
			}
		}
	}
}

// trimProcs drops the -GOMAXPROCS suffix go test adds to a benchmark's name
// (none when GOMAXPROCS is 1).
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

func report(r run, m model) []row {
	rs := r.results
	var rows []row
	get := func(bench, unit string) (float64, bool) {
		v, ok := rs[bench][unit]
		return v, ok && v > 0
	}
	atLeast := func(figure string, v float64, unit string, target float64, note string) {
		met := v >= target
		rows = append(rows, row{figure, v, unit, fmt.Sprintf("≥ %s", human(target)), &met, note})
	}
	atMost := func(figure string, v float64, unit string, target float64, note string) {
		met := v <= target
		rows = append(rows, row{figure, v, unit, fmt.Sprintf("≤ %s", human(target)), &met, note})
	}
	info := func(figure string, v float64, unit, note string) {
		rows = append(rows, row{Figure: figure, Value: v, Unit: unit, Note: note})
	}
	ingest, okIngest := get("BenchmarkIngest", "records/s")
	if okIngest {
		atLeast("ingest CPU path (decode, parse, pack, compress)", ingest, "records/s/core", 1e6, "single-threaded, so per core")
	}
	if naive, ok := get("BenchmarkIngestNaive", "records/s"); ok && okIngest {
		info("naive baseline (AWSLogs.Parse + encoding/json)", naive, "records/s", "")
		atLeast("ingest ÷ naive baseline", ingest/naive, "×", 20, "")
	}
	if gz, ok := get("BenchmarkGzipDecode", "records/s"); ok && okIngest {
		info("gzip decoding alone (physical bound)", gz, "records/s", "")
		atLeast("ingest ÷ gzip decoding", ingest/gz, "×", 0.5, "")
	}
	if v, ok := get("BenchmarkIngest", "sqs-req/Mrec"); ok {
		atMost("billed SQS requests per million records", v, "requests", 4000, "64 KiB chunks: send + receive + delete")
	}
	if v, ok := get("BenchmarkIngest", "B/op"); ok {
		atMost("ingest allocation per 1 MB compressed payload", v/1e6, "MB", 48, "B/op of BenchmarkIngest")
	}
	if v, ok := get("BenchmarkForward", "records/s"); ok {
		atLeast("forward to a local node", v, "records/s", 1e5, "")
	}
	for label, v := range r.each("BenchmarkNodeIngest", "records/s") {
		atLeast("node ingest (HTTP handler into SQLite)"+label, v, "records/s", 2e5, "")
	}
	for label, v := range r.each("BenchmarkDiscover", "records/s") {
		info("discovery (templating + aggregation)"+label, v, "records/s", "")
	}
	if v, ok := get("BenchmarkPipeline", "records/s"); ok {
		n, _ := get("BenchmarkPipeline", "records/op")
		info("local pipeline end to end (ingest → local SQS → forward → node)", v, "records/s",
			fmt.Sprintf("%.0f records, wall time of ingest + drain on this machine", n))
	}

	if in, ok := costInputs(rs); ok {
		packed, single := m.packed(in), m.oneRecordPerMessage(in)
		mem := fmt.Sprintf("%d MB from %s", m.MemoryMB, m.MemorySource)
		info("modelled Lambda GB-seconds per million records, packed", packed.GBSeconds, "GB-s",
			fmt.Sprintf("%s; warm invocations, init not counted; ingest: %s invocations of %.0f records, %s ms billed each; forward: %s invocations of %d messages, %s ms billed each",
				mem, human(packed.IngestInvocations), in.IngestRecords, human(packed.IngestBilledMs),
				human(packed.ForwardInvocations), m.BatchSize, human(packed.ForwardBilledMs)))
		info("modelled Lambda invocations per million records, packed", packed.IngestInvocations+packed.ForwardInvocations, "invocations", "")
		info("modelled AWS cost per million records, packed envelopes", packed.Total(m), "USD",
			fmt.Sprintf("Lambda $%s + SQS $%s (%s billed requests)", usd(packed.LambdaCost(m)), usd(packed.SQSCost(m)), human(packed.SQSRequests)))
		info("modelled Lambda GB-seconds per million records, one record per message", single.GBSeconds, "GB-s",
			fmt.Sprintf("same per-record times; forward: %s invocations of %d records, %s ms billed each",
				human(single.ForwardInvocations), m.BatchSize, human(single.ForwardBilledMs)))
		info("modelled Lambda invocations per million records, one record per message", single.IngestInvocations+single.ForwardInvocations, "invocations", "")
		info("modelled AWS cost per million records, one record per message", single.Total(m), "USD",
			fmt.Sprintf("Lambda $%s + SQS $%s (%s billed requests: send + receive + delete each)", usd(single.LambdaCost(m)), usd(single.SQSCost(m)), human(single.SQSRequests)))
		info("cost ratio: one record per message ÷ packed", single.Total(m)/packed.Total(m), "×",
			fmt.Sprintf("prices: $%g/GB-s, $%g/M Lambda requests, $%g/M SQS requests", m.GBSecond, m.LambdaRequests, m.SQSRequests))
	}

	for _, name := range r.order {
		fn, ok := strings.CutPrefix(name, "BenchmarkBootstrapSize/")
		if !ok {
			continue
		}
		if v, ok := get(name, "bootstrap-bytes"); ok {
			atMost("bootstrap size: "+strings.ReplaceAll(fn, "/", " "), v/1e6, "MB", 10,
				"MB = 10⁶ bytes; -trimpath -ldflags '-s -w' -tags lambda.norpc")
		}
	}
	arch := strings.Trim(r.goos+"/"+r.goarch, "/")
	if v, ok := get("BenchmarkIngestBootstrap", "peak-rss-MB"); ok {
		n, _ := get("BenchmarkIngestBootstrap", "records/op")
		atMost("ingest bootstrap peak RSS on a 1 MiB compressed delivery", v, "MiB", 48,
			fmt.Sprintf("%s, %.0f records; VmHWM of the whole process (Go heap + runtime + stacks + mapped binary), so above the peak heap the target was set for", arch, n))
	}
	if v, ok := get("BenchmarkIngestBootstrap", "first-next-ms"); ok {
		worst, _ := get("BenchmarkIngestBootstrap", "first-next-max-ms")
		info("ingest bootstrap cold start (process start → first /next)", v, "ms",
			fmt.Sprintf("%s, mean of cold starts under lambdaemu, worst %s ms", arch, human(worst)))
	}
	return rows
}

// inputs are the measured figures the cost model uses.
type inputs struct {
	// IngestRecords is the records of one CloudWatch delivery (one ingest
	// invocation) in BenchmarkIngest; IngestNs the CPU time to process it.
	IngestRecords, IngestNs float64
	// ForwardRecords is the records in the ten messages of one
	// BenchmarkForward invocation; ForwardNs its duration.
	ForwardRecords, ForwardNs float64
	// SQSPerMillion is the billed SQS requests per million packed records.
	SQSPerMillion float64
}

// benchForwardMessages is the number of SQS messages in each BenchmarkForward invocation.
const benchForwardMessages = 10

// costInputs derives the inputs from BenchmarkIngest and BenchmarkForward:
// records per op is records/s × ns/op.
func costInputs(rs map[string]result) (inputs, bool) {
	in, fw := rs["BenchmarkIngest"], rs["BenchmarkForward"]
	if in["records/s"] <= 0 || in["ns/op"] <= 0 || in["sqs-req/Mrec"] <= 0 || fw["records/s"] <= 0 || fw["ns/op"] <= 0 {
		return inputs{}, false
	}
	return inputs{
		IngestRecords: in["records/s"] * in["ns/op"] / 1e9, IngestNs: in["ns/op"],
		ForwardRecords: fw["records/s"] * fw["ns/op"] / 1e9, ForwardNs: fw["ns/op"],
		SQSPerMillion: in["sqs-req/Mrec"],
	}, true
}

// model holds the cost model's settings.
type model struct {
	MemoryMB     int
	MemorySource string
	BatchSize    int
	// Prices in USD: per GB-second, per million Lambda requests, per
	// million SQS requests.
	GBSecond, LambdaRequests, SQSRequests float64
}

// cost is the modelled bill of a million records.
type cost struct {
	IngestInvocations, ForwardInvocations float64
	IngestBilledMs, ForwardBilledMs       float64
	GBSeconds, SQSRequests                float64
}

// LambdaCost is the GB-seconds and the requests of both functions.
func (c cost) LambdaCost(m model) float64 {
	return c.GBSeconds*m.GBSecond + (c.IngestInvocations+c.ForwardInvocations)*m.LambdaRequests/1e6
}

// SQSCost is the billed requests.
func (c cost) SQSCost(m model) float64 { return c.SQSRequests * m.SQSRequests / 1e6 }

// Total is the whole modelled bill.
func (c cost) Total(m model) float64 { return c.LambdaCost(m) + c.SQSCost(m) }

const million = 1e6

// billedMs is Lambda's billed duration of an invocation lasting ns: rounded
// up to the millisecond.
func billedMs(ns float64) float64 {
	ms := ns / 1e6
	if c := float64(int64(ms)); c < ms {
		return c + 1
	}
	return max(ms, 1)
}

// invocations returns the Lambda figures of a million records: one ingest
// invocation per delivery of in.IngestRecords, and forward invocations of
// forwardRecords records each, every record costing the measured time.
func (m model) invocations(in inputs, forwardRecords float64) cost {
	c := cost{
		IngestInvocations:  million / in.IngestRecords,
		IngestBilledMs:     billedMs(in.IngestNs),
		ForwardInvocations: million / forwardRecords,
		ForwardBilledMs:    billedMs(forwardRecords * in.forwardNsPerRecord()),
	}
	gb := float64(m.MemoryMB) / 1024
	c.GBSeconds = (c.IngestInvocations*c.IngestBilledMs + c.ForwardInvocations*c.ForwardBilledMs) / 1000 * gb
	return c
}

func (in inputs) forwardNsPerRecord() float64 { return in.ForwardNs / in.ForwardRecords }

// packed models gwtap: envelopes as in BenchmarkForward, BatchSize per
// forward invocation, and the measured billed SQS requests.
func (m model) packed(in inputs) cost {
	perMessage := in.ForwardRecords / benchForwardMessages
	c := m.invocations(in, perMessage*float64(m.BatchSize))
	c.SQSRequests = in.SQSPerMillion
	return c
}

// oneRecordPerMessage models the same functions sending one record per SQS
// message: three billed requests per record (send, receive, delete) and a
// forward invocation per BatchSize records.
func (m model) oneRecordPerMessage(in inputs) cost {
	c := m.invocations(in, float64(m.BatchSize))
	c.SQSRequests = 3 * million
	return c
}

func markdown(rows []row) string {
	var b strings.Builder
	b.WriteString("| figure | value | target | met |\n|---|---:|---|---|\n")
	for _, r := range rows {
		met := ""
		if r.Met != nil {
			met = "yes"
			if !*r.Met {
				met = "**no**"
			}
		}
		note := ""
		if r.Note != "" {
			note = " (" + r.Note + ")"
		}
		value := human(r.Value)
		if r.Unit == "USD" {
			value = usd(r.Value)
		}
		fmt.Fprintf(&b, "| %s%s | %s %s | %s | %s |\n", r.Figure, note, value, r.Unit, r.Target, met)
	}
	return b.String()
}

// usd formats an amount of dollars with three significant digits, without
// an exponent.
func usd(v float64) string {
	if v <= 0 || v >= 1 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', max(2, 2-int(math.Floor(math.Log10(v)))), 64)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
	case v > 0 && v < 0.1:
		return strconv.FormatFloat(v, 'g', 3, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
