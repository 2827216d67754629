// Package faults holds no code: its tests are the fault-injection and
// security suite of issue #7. They drive the pipeline end to end — the
// ingest handler, a local SQS (npm local-aws-sqs), forward's emulated event
// source mapping and handler, and the real node with SQLite — while a
// wrapper in front of the node injects failures (503 outages and flapping,
// 429 with Retry-After, answers slower than the client's timeout, connection
// resets, 413 above a size, 401), and check the accounting: every valid
// record reaches the node at least once, none is lost, duplicates are
// counted, and nothing loops.
//
// The short form runs with `go test ./...`; `make soak` (or -args -soak, or
// GWTAP_SOAK=1) runs the same scenarios with more records and longer
// outages.
package faults
