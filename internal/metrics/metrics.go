package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units used by gwtap.
const (
	Count        Unit = "Count"
	Bytes        Unit = "Bytes"
	Milliseconds Unit = "Milliseconds"
)

// maxMetrics is EMF's limit of metrics per directive.
const maxMetrics = 100

type metric struct {
	name  string
	unit  Unit
	value float64
}

// Set collects the metrics of one unit of work (an invocation) under one set
// of dimensions. Not safe for concurrent use.
type Set struct {
	namespace string
	dims      [][2]string
	metrics   []metric
}

// New returns an empty Set in namespace with the given dimensions
// (name/value pairs); empty values are left out.
func New(namespace string, dims ...[2]string) *Set {
	s := &Set{namespace: namespace}
	for _, d := range dims {
		if d[1] != "" {
			s.dims = append(s.dims, d)
		}
	}
	return s
}

// Add adds v to the metric name, creating it with unit on first use.
func (s *Set) Add(name string, unit Unit, v float64) {
	for i := range s.metrics {
		if s.metrics[i].name == name {
			s.metrics[i].value += v
			return
		}
	}
	s.metrics = append(s.metrics, metric{name, unit, v})
}

// Value returns the current value of name (0 if never added).
func (s *Set) Value(name string) float64 {
	for _, m := range s.metrics {
		if m.name == name {
			return m.value
		}
	}
	return 0
}

// Write writes the set as one EMF line stamped with ts. It returns an error
// if there are more metrics than EMF allows in one directive, or if w fails.
func (s *Set) Write(w io.Writer, ts time.Time) error {
	if len(s.metrics) > maxMetrics {
		return fmt.Errorf("writing EMF: %d metrics, at most %d allowed", len(s.metrics), maxMetrics)
	}
	type def struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit"`
	}
	type directive struct {
		Namespace  string     `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []def      `json:"Metrics"`
	}
	doc := map[string]any{}
	names := make([]string, 0, len(s.dims))
	for _, d := range s.dims {
		names = append(names, d[0])
		doc[d[0]] = d[1]
	}
	defs := make([]def, 0, len(s.metrics))
	for _, m := range s.metrics {
		defs = append(defs, def{m.name, m.unit})
		doc[m.name] = m.value
	}
	doc["_aws"] = map[string]any{
		"Timestamp":         ts.UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: s.namespace, Dimensions: [][]string{names}, Metrics: defs}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding EMF: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing EMF: %w", err)
	}
	return nil
}
