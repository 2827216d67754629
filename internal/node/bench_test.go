package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
)

const benchBatch = 1000

// batchTemplate is a batch of realistic records whose ids end in a fixed
// 12-hex-digit field that stamp rewrites, so every batch a benchmark sends
// is new to the store without generating traffic inside the timed loop.
type batchTemplate struct {
	body  []byte
	slots []int // offset of each id's last 12 hex digits
}

func newBatchTemplate(tb testing.TB) *batchTemplate {
	tb.Helper()
	recs := synthRecords(benchBatch, 42)
	t := &batchTemplate{}
	for i := range recs {
		recs[i].ID = fmt.Sprintf("c6f1a1e4-9b1c-4d1f-8a55-%012x", i)
		start := len(t.body)
		t.body = recs[i].AppendJSON(t.body)
		j := bytes.Index(t.body[start:], []byte(recs[i].ID))
		if j < 0 {
			tb.Fatal("id not found in the encoded record")
		}
		t.slots = append(t.slots, start+j+24)
		t.body = append(t.body, '\n')
	}
	return t
}

// stamp writes into dst the template with ids unique to batch number seq.
func (t *batchTemplate) stamp(dst []byte, seq uint64) []byte {
	dst = append(dst[:0], t.body...)
	for i, off := range t.slots {
		v := seq*benchBatch + uint64(i)
		for k := 11; k >= 0; k-- {
			dst[off+k] = "0123456789abcdef"[v&0xf]
			v >>= 4
		}
	}
	return dst
}

// BenchmarkNodeIngest measures records/s through the node's HTTP handler
// into SQLite (synchronous=FULL, on disk), batches of 1,000 realistic
// records, several senders at once as the forward function's concurrent
// invocations would be. The zstd case compresses each batch in the loop,
// so it also pays the sender's compression.
func BenchmarkNodeIngest(b *testing.B) {
	tmpl := newBatchTemplate(b)
	b.Logf("batch: %d records, %d bytes of NDJSON (%d bytes a record)", benchBatch, len(tmpl.body), len(tmpl.body)/benchBatch)
	for _, encoding := range []string{"identity", "zstd"} {
		b.Run(encoding, func(b *testing.B) {
			n := newTestNode(b, Config{})
			var seq atomic.Uint64
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			b.SetBytes(int64(len(tmpl.body)))
			b.SetParallelism(8)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var raw, body []byte
				for pb.Next() {
					raw = tmpl.stamp(raw, seq.Add(1))
					body = raw
					if encoding == "zstd" {
						body = enc.EncodeAll(raw, body[:0:0])
					}
					req := httptest.NewRequestWithContext(b.Context(), http.MethodPost, protocol.RecordsPath, bytes.NewReader(body))
					req.Header.Set(protocol.HeaderContentType, protocol.ContentTypeNDJSON)
					req.Header.Set(protocol.HeaderContentEncoding, encoding)
					w := httptest.NewRecorder()
					n.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body.String())
						return
					}
					var resp protocol.Response
					if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Accepted != benchBatch {
						b.Errorf("answer %s (%v)", w.Body.String(), err)
						return
					}
				}
			})
			b.StopTimer()
			reportRates(b, b.N*benchBatch, cpuTime(b)-cpu0)
			if c, _ := n.store.Count(b.Context()); c != int64(b.N*benchBatch) {
				b.Errorf("store holds %d records, want %d", c, b.N*benchBatch)
			}
		})
	}
}

// BenchmarkDecodeRecord is the per-line decoding and checking the handler
// does, on one core, beside the encoding/json baseline it replaced.
func BenchmarkDecodeRecord(b *testing.B) {
	tmpl := newBatchTemplate(b)
	lines := protocol.SplitLines(tmpl.body)
	nowMs := testStart.Add(48 * time.Hour).UnixMilli()
	decoders := []struct {
		name   string
		decode func(line []byte) string
	}{
		{"node", func(line []byte) string {
			_, reason, _ := decodeRecord(line, nowMs)
			return reason
		}},
		{"encoding-json", func(line []byte) string {
			var rec record.Record
			if err := json.Unmarshal(line, &rec); err != nil {
				return err.Error()
			}
			reason, _ := check(&rec, nowMs)
			return reason
		}},
	}
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(tmpl.body)))
			cpu0 := cpuTime(b)
			for b.Loop() {
				for _, l := range lines {
					if reason := d.decode(l); reason != "" {
						b.Fatal(reason)
					}
				}
			}
			reportRates(b, b.N*len(lines), cpuTime(b)-cpu0)
		})
	}
}

// reportRates reports records per second of wall time and per second of
// the process's CPU time: on a shared machine the first depends on the
// neighbours, the second much less.
func reportRates(b *testing.B, records int, cpu time.Duration) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if cpu > 0 {
		b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
