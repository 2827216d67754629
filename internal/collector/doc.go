// Package collector is the sending side of gwtap collector protocol v1
// (docs/protocol.md): the client the forward function uses to post batches of
// records to the node.
//
// Everything expensive is built once per container: the HTTP client with its
// keep-alive connection pool and TLS settings (NewHTTPClient), the bearer
// token, read once from the environment, AWS Secrets Manager or SSM Parameter
// Store (ResolveToken), and the zstd coders (New). Each invocation then opens
// a Session, which holds the one piece of per-invocation state, a circuit
// breaker, and delivers batches with Session.Deliver.
//
// Deliver applies the protocol's status table (protocol.ActionFor):
//
//   - transient failures (no answer, timeout, 408, 429, 5xx) are retried with
//     backoff.Policy's full-jitter schedule, waiting at least what Retry-After
//     asks (capped by the policy), and never past the invocation's deadline;
//   - 413 splits the batch in halves, each posted on its own, down to single
//     records;
//   - anything else is permanent and never retried: the records are returned
//     as Failures for the caller to keep aside (the dead-letter queue), as are
//     records the node rejects one by one in a 200 answer.
//
// On the happy path the batch's zstd payload is posted as it came, with
// Content-Encoding: zstd, and never decoded here; decoding happens only to
// split a batch or to pick out rejected records.
//
// Failures are classified by type: every error Deliver returns is an *Error
// whose Class says what the caller may do, with errors.Is(err,
// ErrCircuitOpen) or errors.Is(err, backoff.ErrNoTime) telling why a
// transient failure was given up on early.
package collector
