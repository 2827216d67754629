// Package protocol holds the wire contract of gwtap collector protocol v1
// (docs/protocol.md) shared by its two sides: the forward function's client
// and the node's server. Keeping paths, headers, limits and the response body
// in one package means the two sides cannot drift apart; the record itself is
// package record.
package protocol
