// Package metrics writes CloudWatch Embedded Metric Format (EMF) log lines:
// one JSON object per flush that CloudWatch turns into metrics without any
// API call, so a function publishes its counters at no latency cost.
package metrics
