// Package collectortest runs a scriptable collector protocol v1 node
// (docs/protocol.md) on a loopback port, for tests of the sending side and
// for local runs that need a node without the real one.
//
// By default the node behaves like a correct node: it decodes the body
// (zstd, gzip or identity), stores each record id once, and answers 200 with
// accepted and duplicate counts. A Script makes any request fail the way a
// test needs: any status with Retry-After, per-record rejections, a slow
// answer, or a connection hung up without an answer.
package collectortest
