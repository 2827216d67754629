package forward

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/synth"
)

// benchEvent returns a batch of ten full 256 KiB envelopes of realistic
// records, as the event source mapping would deliver them, and the number
// of records in it.
func benchEvent(b *testing.B) (events.SQSEvent, int) {
	b.Helper()
	g := synth.New(42, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	p, err := envelope.NewPacker(envelope.DefaultMaxMessageBytes)
	if err != nil {
		b.Fatal(err)
	}
	var ev events.SQSEvent
	total := 0
	for len(ev.Records) < 10 {
		var buf []byte
		var ends []int
		for range 4000 {
			q := g.Next()
			r := record.Record{
				ID: q.ID, AppID: "7", Time: q.Time.UnixMilli(), EventTime: q.Time.UnixMilli() + 900, Method: q.Route.Method,
				Host: q.Route.Host, Path: q.Path, Template: q.Route.Template, Protocol: "HTTP/1.1", Stage: q.Route.Stage,
				Status: q.Status, ResponseBytes: int64(q.Bytes), LatencyMs: int64(q.Latency), SourceIP: q.IP, UserAgent: q.Agent,
				LogGroup: "/aws/apigateway/shop", LogStream: "2026/12/01/[$LATEST]abc", Account: "123456789012",
			}
			buf = append(r.AppendJSON(buf), '\n')
			ends = append(ends, len(buf))
		}
		msgs, _ := p.Pack(buf, ends)
		for _, m := range msgs {
			if len(ev.Records) < 10 && m.Size() > envelope.DefaultMaxMessageBytes*3/4 {
				ev.Records = append(ev.Records, sqsMessage(fmt.Sprintf("m%d", len(ev.Records)), m))
				total += m.Records
			}
		}
	}
	return ev, total
}

// decodingNode accepts every batch after decoding it fully: inflating the
// body and splitting it into records, as a real node must before storing.
func decodingNode(b *testing.B) (*httptest.Server, *atomic.Int64) {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(dec.Close)
	var records atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		raw, err := dec.DecodeAll(body, nil)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n := len(protocol.SplitLines(raw))
		records.Add(int64(n))
		_ = json.NewEncoder(w).Encode(protocol.Response{Accepted: n})
	}))
	b.Cleanup(srv.Close)
	return srv, &records
}

// BenchmarkForward measures records/s from SQS-event envelopes to an
// in-process node that accepts and decodes everything.
func BenchmarkForward(b *testing.B) {
	ev, n := benchEvent(b)
	srv, got := decodingNode(b)
	cfg := testConfig(b, srv.Listener.Addr().String())
	hc, err := collector.NewHTTPClient(cfg.Node)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(hc.CloseIdleConnections)
	client, err := collector.New(cfg.Node, "tok", hc, discard())
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(cfg, client, &fakeDLQ{}, discard(), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	bytes := 0
	for _, m := range ev.Records {
		bytes += len(m.Body)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.Handle(b.Context(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("%v %v", resp, err)
		}
	}
	if got.Load() != int64(n)*int64(b.N) {
		b.Fatalf("node decoded %d records, want %d", got.Load(), int64(n)*int64(b.N))
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
