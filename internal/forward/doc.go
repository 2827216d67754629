// Package forward is the core of the forward function: it takes a batch of
// TrafficQueue messages (an events.SQSEvent from the event source mapping),
// posts each message's records to the node with package collector, and
// answers with the messages SQS must deliver again.
//
// Every message ends in exactly one of three ways:
//
//   - done: the node holds all its records (accepted or duplicates), or
//     those it refused were sent to the dead-letter queue first;
//   - dead-lettered whole: a malformed envelope, or a batch the node refused
//     permanently (400, 401, 403, 404, …), goes to the DLQ at once as it
//     came, with the reason in message attributes (see DLQ attributes), so
//     no retries are wasted on it;
//   - redelivered: a transient failure (the node unreachable, slow, 408,
//     429, 5xx) that retries within the invocation did not overcome, or a
//     DLQ send that failed, is reported in BatchItemFailures. SQS delivers
//     the message again after its visibility timeout, and moves it to the
//     DLQ by its redrive policy after maxReceiveCount deliveries.
//
// Records the node rejects one by one are re-packed as a new envelope of
// just those records and dead-lettered with the node's reason; the rest of
// the batch is delivered, so a poison record never holds its batch back. A
// message is reported done only after its DLQ sends succeeded, so nothing is
// lost between the two queues; a crash in between only duplicates, and the
// node drops duplicates by record id.
//
// On the happy path the envelope's zstd payload is posted unchanged; records
// are decoded only when a batch must be split or rejected records picked out.
//
// Poller emulates the Lambda event source mapping (receive, invoke, delete
// what succeeded) for tests and the local pipeline.
package forward
