// Package envelope packs records into SQS messages and opens them again.
//
// An envelope is one SQS message carrying many records: its body is the
// base64 of a zstd-compressed NDJSON document, which is exactly the body of a
// collector protocol v1 request (docs/protocol.md) once base64-decoded, so the
// forward function can post it unchanged on the happy path. Message
// attributes make the envelope self-describing: format version, encoding and
// record count.
//
// Packing fills each message up to the configured size limit (SQS counts the
// body and the attributes) and never splits a record; a record that cannot
// fit even alone is reported, not silently dropped.
package envelope
