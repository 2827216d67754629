// Package record defines the gwtap record: one API Gateway request, reduced to
// the fields an API inventory needs. It is the unit every hop carries (ingest
// packs records into SQS envelopes, forward posts them to the node, the node
// stores them), and its JSON form is the body line of collector protocol v1
// (docs/protocol.md).
//
// Encoding is hand-written (AppendJSON) because it sits on the ingest hot path;
// decoding uses encoding/json, which is only on slow paths.
package record
