// Package local runs the whole gwtap pipeline on one machine, with the same
// code the Lambdas run: a local SQS (local-aws-sqs) with the template's
// queues, the ingest handler fed with subscription events, the forward
// handler driven by an emulated SQS event source mapping (batch size,
// delete on success, redelivery after the visibility timeout, DLQ after
// maxReceiveCount), and an in-process node with its SQLite store, inventory
// and web page. `gwtap local` and `make demo` are this package.
package local
