package discovery

import (
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/synth"
)

// synthRecords returns n records of the synth package's shop API, without
// templates, as the access-log parser would produce them.
func synthRecords(tb testing.TB, seed uint64, n int) []record.Record {
	tb.Helper()
	g := synth.New(seed, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	recs := make([]record.Record, n)
	for i := range recs {
		req := g.Next()
		recs[i] = record.Record{
			ID: req.ID, AppID: "shop", Time: req.Time.UnixMilli(),
			Method: req.Route.Method, Host: req.Route.Host, Path: req.Path,
			Stage: req.Route.Stage, Status: req.Status, LatencyMs: int64(req.Latency),
			ResponseBytes: int64(req.Bytes), SourceIP: req.IP, UserAgent: req.Agent,
		}
	}
	return recs
}

// templates returns "METHOD template" of every endpoint, in order.
func templates(tb testing.TB, eps []Endpoint) []string {
	tb.Helper()
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.Method + " " + e.Host + e.Template
	}
	return out
}
