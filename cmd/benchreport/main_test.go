package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkIngest-2        	      10	 100000000 ns/op	 500000 records/s	 2000 sqs-req/Mrec	 40000000 B/op	 80 allocs/op
BenchmarkIngest-2        	      10	 100000000 ns/op	 700000 records/s	 2200 sqs-req/Mrec	 40000000 B/op	 80 allocs/op
BenchmarkIngestNaive-2   	       1	 900000000 ns/op	  30000 records/s
BenchmarkGzipDecode-2    	      20	  50000000 ns/op	1000000 records/s
PASS
`

func TestReport(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := rs["BenchmarkIngest"]["records/s"]; got != 600000 {
		t.Fatalf("mean of two runs = %v", got)
	}
	rows := report(rs)
	want := map[string]struct {
		v   float64
		met bool
	}{
		"ingest ÷ naive baseline":                         {20, true},
		"ingest ÷ gzip decoding":                          {0.6, true},
		"billed SQS requests per million records":         {2100, true},
		"ingest CPU path (decode, parse, pack, compress)": {600000, false},
	}
	for _, r := range rows {
		w, ok := want[r.Figure]
		if !ok {
			continue
		}
		if r.Value != w.v || r.Met == nil || *r.Met != w.met {
			t.Errorf("%s = %v (met %v), want %v (met %v)", r.Figure, r.Value, r.Met, w.v, w.met)
		}
		delete(want, r.Figure)
	}
	if len(want) > 0 {
		t.Errorf("missing rows: %v", want)
	}
	if md := markdown(rows); !strings.Contains(md, "**no**") || !strings.Contains(md, "| ingest ÷ naive baseline | 20 × | ≥ 20 | yes |") {
		t.Errorf("markdown:\n%s", md)
	}
}
