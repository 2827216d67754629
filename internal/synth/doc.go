// Package synth generates realistic, reproducible API Gateway access-log
// traffic: a plausible API with dozens of routes on several hosts and stages,
// path ids of many kinds (integers, UUIDs, slugs, hex, dates, e-mails),
// skewed popularity, errors and latency. The same seed always yields the
// same lines, so demos, tests and benchmarks are repeatable.
package synth
