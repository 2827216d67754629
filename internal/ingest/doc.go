// Package ingest is the core of the ingest function: it turns one CloudWatch
// Logs subscription delivery into records, packs them into envelopes and
// enqueues them on the traffic queue.
//
// The CPU path (Pipeline.Build: decode, parse, pack, compress) is separate
// from the network path (Handler), so the CLI, benchmarks and the local
// pipeline share it. Lines that cannot be parsed are counted and a few are
// sampled in the log; they never fail the delivery. Anything that could not
// be enqueued fails the invocation, so Lambda retries it and, after its
// retries, keeps the raw event in the failure destination. Records carry
// stable ids, so the duplicates a retry creates are dropped by the node.
package ingest
