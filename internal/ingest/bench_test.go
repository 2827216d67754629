package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// benchPayload is a realistic 1 MB (compressed) subscription delivery of
// seed-format lines, built once.
var benchPayload = sync.OnceValues(func() (string, int) {
	for n := 1000; ; n *= 2 {
		lines := synthLines(n, 99)
		data := payload(&testing.B{}, lines...)
		if base64.StdEncoding.DecodedLen(len(data)) >= 1<<20 {
			return data, len(lines)
		}
	}
})

func reportRecords(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkIngest is the whole CPU path: decode, parse, pack, compress.
func BenchmarkIngest(b *testing.B) {
	data, n := benchPayload()
	p, err := NewPipeline(testConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var last *Batch
	for b.Loop() {
		last, err = p.Build(data)
		if err != nil {
			b.Fatal(err)
		}
	}
	if last.Stats.Parsed != n {
		b.Fatalf("parsed %d of %d", last.Stats.Parsed, n)
	}
	reportRecords(b, n)
	b.ReportMetric(billedPerMillion(last), "sqs-req/Mrec")
}

// billedPerMillion counts billed SQS requests (each started 64 KiB of a
// request's payload is one request) to send, receive and delete the batch's
// envelopes, ten per batch call, per million records.
func billedPerMillion(b *Batch) float64 {
	const chunk = 64 << 10
	var send, receive int
	msgs := b.Messages
	for i := 0; i < len(msgs); i += 10 {
		size := 0
		for _, m := range msgs[i:min(i+10, len(msgs))] {
			size += m.Size()
		}
		calls := (size + chunk - 1) / chunk
		send += calls
		receive += calls
	}
	deletes := (len(msgs) + 9) / 10
	return float64(send+receive+deletes) / float64(b.Stats.Enqueued) * 1e6
}

// naiveLine is what a typical Go Lambda unmarshals each line into.
type naiveLine struct {
	RequestID          string `json:"requestId"`
	HTTPMethod         string `json:"httpMethod"`
	Path               string `json:"path"`
	Protocol           string `json:"protocol"`
	Status             string `json:"status"`
	ResponseLength     string `json:"responseLength"`
	RequestTime        string `json:"requestTime"`
	RequestTimeEpoch   string `json:"requestTimeEpoch"`
	ResponseLatency    string `json:"responseLatency"`
	IntegrationLatency string `json:"integrationLatency"`
	IntegrationStatus  string `json:"integrationStatus"`
	ErrorMessage       string `json:"errorMessage"`
	Stage              string `json:"stage"`
	DomainName         string `json:"domainName"`
	SourceIP           string `json:"sourceIp"`
	UserAgent          string `json:"userAgent"`
}

// BenchmarkIngestNaive is the baseline most Go Lambdas use: aws-lambda-go's
// AWSLogs.Parse, then encoding/json per line. It does not even pack or
// compress its output.
func BenchmarkIngestNaive(b *testing.B) {
	data, n := benchPayload()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := events.CloudwatchLogsRawData{Data: data}.Parse()
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range doc.LogEvents {
			var l naiveLine
			if err := json.Unmarshal([]byte(e.Message), &l); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRecords(b, n)
}

// BenchmarkGzipDecode only gunzips the same payload: the physical bound.
func BenchmarkGzipDecode(b *testing.B) {
	data, n := benchPayload()
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := zr.Reset(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, n)
}
