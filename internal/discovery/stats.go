package discovery

import (
	"slices"
	"strings"

	"github.com/gwtap/gwtap/internal/record"
)

// maxStages bounds the stages remembered per endpoint.
const maxStages = 16

// stats is what is known about the requests of one endpoint. Every part is
// mergeable, so endpoints can be folded together when a position turns out
// to be a parameter, without losing counts or distributions.
type stats struct {
	requests int64
	counted  int64
	classes  [6]int64 // by status class; 0 is "not logged or out of range"
	latency  histogram
	bytes    histogram

	timed, countedTimed bool
	first, last         int64 // Unix ms over all requests with a time
	countedFirst        int64 // Unix ms over counted requests with a time
	countedLast         int64

	stages   []string
	clients  distinct
	examples []string
}

// record adds r to s; counted says whether r's status class is counted.
func (s *stats) record(r *record.Record, counted bool, maxExamples int) {
	s.requests++
	s.classes[statusClass(r.Status)]++
	s.latency.add(r.LatencyMs)
	s.bytes.add(r.ResponseBytes)
	if ts := recordTime(r); ts != 0 {
		if !s.timed || ts < s.first {
			s.first = ts
		}
		if !s.timed || ts > s.last {
			s.last = ts
		}
		s.timed = true
		if counted {
			if !s.countedTimed || ts < s.countedFirst {
				s.countedFirst = ts
			}
			if !s.countedTimed || ts > s.countedLast {
				s.countedLast = ts
			}
			s.countedTimed = true
		}
	}
	if counted {
		s.counted++
	}
	if r.Stage != "" && len(s.stages) < maxStages && !slices.Contains(s.stages, r.Stage) {
		s.stages = append(s.stages, strings.Clone(r.Stage))
	}
	if r.SourceIP != "" {
		s.clients.add(hashString(r.SourceIP))
	}
	if len(s.examples) < maxExamples && !slices.Contains(s.examples, r.Path) {
		s.examples = append(s.examples, strings.Clone(r.Path))
	}
}

// merge adds everything in o to s.
func (s *stats) merge(o *stats, maxExamples int) {
	s.requests += o.requests
	s.counted += o.counted
	for i := range s.classes {
		s.classes[i] += o.classes[i]
	}
	s.latency.merge(&o.latency)
	s.bytes.merge(&o.bytes)
	if o.timed {
		if !s.timed || o.first < s.first {
			s.first = o.first
		}
		if !s.timed || o.last > s.last {
			s.last = o.last
		}
		s.timed = true
	}
	if o.countedTimed {
		if !s.countedTimed || o.countedFirst < s.countedFirst {
			s.countedFirst = o.countedFirst
		}
		if !s.countedTimed || o.countedLast > s.countedLast {
			s.countedLast = o.countedLast
		}
		s.countedTimed = true
	}
	for _, st := range o.stages {
		if len(s.stages) < maxStages && !slices.Contains(s.stages, st) {
			s.stages = append(s.stages, st)
		}
	}
	s.clients.merge(&o.clients)
	for _, ex := range o.examples {
		if len(s.examples) < maxExamples && !slices.Contains(s.examples, ex) {
			s.examples = append(s.examples, ex)
		}
	}
}

// visible reports whether s passes the noise filter.
func (s *stats) visible(cfg *settings) bool {
	if s.counted < cfg.minRequests {
		return false
	}
	return cfg.minSpanMs == 0 || s.countedTimed && s.countedLast-s.countedFirst > cfg.minSpanMs
}

// recordTime returns when r was received, in Unix ms, or 0 when unknown.
func recordTime(r *record.Record) int64 {
	if r.Time != 0 {
		return r.Time
	}
	return r.EventTime
}
