// Command benchreport reads `go test -bench` output on stdin and writes one
// table of gwtap's performance figures, with the ratios and targets of
// DESIGN.md, as Markdown (stdout and -md) and JSON (-json). Every ratio is
// between benchmarks of the same run, so the machine's speed cancels out.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// result is one benchmark line's metrics, by unit.
type result map[string]float64

// row is one line of the report.
type row struct {
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target"`
	Met    *bool   `json:"met,omitempty"`
	Note   string  `json:"note,omitempty"`
}

func main() {
	md := flag.String("md", "", "also write the Markdown table to this file")
	js := flag.String("json", "", "also write the figures as JSON to this file")
	flag.Parse()
	results, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	rows := report(results)
	table := markdown(rows)
	fmt.Print(table)
	if *md != "" {
		if err := os.WriteFile(*md, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
	if *js != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(*js, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
}

// parse collects the metrics of every Benchmark line; a benchmark run
// several times (-count) keeps its median-free mean.
func parse(r io.Reader) (map[string]result, error) {
	sums := map[string]result{}
	counts := map[string]map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // drop the GOMAXPROCS suffix
		}
		if sums[name] == nil {
			sums[name], counts[name] = result{}, map[string]int{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			sums[name][f[i+1]] += v
			counts[name][f[i+1]]++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	for name, m := range sums {
		for unit := range m {
			m[unit] /= float64(counts[name][unit])
		}
	}
	return sums, nil
}

func report(rs map[string]result) []row {
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
	ingest, okIngest := get("BenchmarkIngest", "records/s")
	if okIngest {
		atLeast("ingest CPU path (decode, parse, pack, compress)", ingest, "records/s/core", 1e6, "single-threaded, so per core")
	}
	if naive, ok := get("BenchmarkIngestNaive", "records/s"); ok && okIngest {
		rows = append(rows, row{Figure: "naive baseline (AWSLogs.Parse + encoding/json)", Value: naive, Unit: "records/s"})
		atLeast("ingest ÷ naive baseline", ingest/naive, "×", 20, "")
	}
	if gz, ok := get("BenchmarkGzipDecode", "records/s"); ok && okIngest {
		rows = append(rows, row{Figure: "gzip decoding alone (physical bound)", Value: gz, Unit: "records/s"})
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
	if v, ok := get("BenchmarkNodeIngest", "records/s"); ok {
		atLeast("node ingest (HTTP handler into SQLite)", v, "records/s", 2e5, "")
	}
	if v, ok := get("BenchmarkDiscover", "records/s"); ok {
		rows = append(rows, row{Figure: "discovery (templating + aggregation)", Value: v, Unit: "records/s"})
	}
	return rows
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
		fmt.Fprintf(&b, "| %s%s | %s %s | %s | %s |\n", r.Figure, note, human(r.Value), r.Unit, r.Target, met)
	}
	return b.String()
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
