// Package cli implements the gwtap command: one binary for generating
// CloudWatch Logs events from access logs, running the functions locally and
// (as the other parts land) operating the DLQ and the node. Run is the whole
// program; cmd/gwtap only wires it to the process.
package cli
