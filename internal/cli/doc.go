// Package cli implements the gwtap command: one binary for generating
// CloudWatch Logs events from access logs, running the functions and the
// whole pipeline locally, operating the dead-letter queue, and running the
// node. Run is the whole program; cmd/gwtap only wires it to the process.
package cli
