// Package cwlogs decodes the payload CloudWatch Logs hands to a subscription
// Lambda: awslogs.data is base64 of a gzip stream of one JSON document
// (messageType, owner, logGroup, logStream, subscriptionFilters, logEvents).
//
// The decoder is built for the ingest hot path and for hostile input alike:
// decompression stops at a hard cap (a gzip bomb gets ErrTooLarge, never an
// out-of-memory kill), the JSON document is scanned by hand with escapes
// decoded in place, and all event messages end up as substrings of a single
// string, so decoding costs two allocations however many events there are.
// Messages longer than the line cap are counted, not returned.
package cwlogs
