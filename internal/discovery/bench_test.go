package discovery

import (
	"testing"

	"github.com/gwtap/gwtap/internal/record"
)

// BenchmarkDiscover measures records/s through Add, on the synth package's
// shop API (32 routes on three hosts, ids of every kind) and on slug-heavy
// traffic (word parameters, the learner's costly case), and the cost of
// Endpoints on the resulting inventory.
func BenchmarkDiscover(b *testing.B) {
	for _, src := range []struct {
		name string
		recs []record.Record
	}{
		{"Add/synth", synthRecords(b, 7, 200_000)},
		{"Add/slug-heavy", slugTraffic(7, 200_000, 1.5)},
	} {
		b.Run(src.name, func(b *testing.B) {
			recs := src.recs
			d := New(DefaultConfig())
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i += 1000 {
				d.Add(recs[n : n+1000]...)
				n += 1000
				if n == len(recs) {
					n = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
	b.Run("Endpoints", func(b *testing.B) {
		d := New(DefaultConfig())
		d.Add(synthRecords(b, 7, 200_000)...)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if len(d.Endpoints()) == 0 {
				b.Fatal("no endpoints")
			}
		}
		b.ReportMetric(float64(len(d.Endpoints())), "endpoints")
	})
}
