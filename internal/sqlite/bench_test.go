package sqlite

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/record"
)

// BenchmarkAppend measures records/s into the store (synchronous=FULL, on
// disk), batches of 1,000 new records from several goroutines at once, as
// the node's handlers call it.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "node.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	template := records(0, 1000)
	var seq atomic.Int64
	cpu0 := cpuTime(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]record.Record, len(template))
		for pb.Next() {
			n := seq.Add(1)
			copy(batch, template)
			for i := range batch {
				batch[i].ID = fmt.Sprintf("c6f1a1e4-9b1c-4d1f-%04x-%012x", n>>48, uint64(n)<<10|uint64(i))
				batch[i].Time += n * 1000
			}
			res, err := s.Append(b.Context(), batch)
			if err != nil || res.Accepted != len(batch) {
				b.Errorf("Append: %v, %d accepted", err, res.Accepted)
				return
			}
		}
	})
	b.StopTimer()
	records := float64(b.N * len(template))
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(records/(cpuTime(b)-cpu0).Seconds(), "records/cpu-s")
}

// BenchmarkScan measures how fast a node rebuilds: records/s read back and
// decoded.
func BenchmarkScan(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "node.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 100 {
		if _, err := s.Append(b.Context(), records(i*1000, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	end, err := s.Position(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		if err := s.Scan(b.Context(), end, 4096, func(r []record.Record) error { n += len(r); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
