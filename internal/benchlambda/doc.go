// Package benchlambda holds the benchmarks of gwtap's built Lambda functions:
// the size of every bootstrap for both architectures, and the ingest
// bootstrap's peak resident memory and cold start when run under the Lambda
// Runtime API emulator (internal/lambdaemu) against a local SQS. They report
// custom metrics that cmd/benchreport turns into rows of the performance
// report; they build and run real binaries, so they are benchmarks only and
// never run with `go test`.
package benchlambda
