// Package replay is the dead-letter queue runbook in code: the core that the
// replay function (for the ReplayStateMachine and its admin API) and `gwtap
// dlq` share.
//
// A Service, built once per container with New, does five things:
//
//   - Status: the DLQ's depth from its queue attributes, and from a sample
//     of its messages what SQS does not say: the age of the oldest message,
//     counts by failure reason, and how many messages the next re-drive
//     would park.
//   - Peek: a few messages with their attributes and a summary of their
//     records (count, first ids, most frequent endpoints), decoded from the
//     envelope, without consuming them.
//   - Redrive: moves messages from the DLQ back to the traffic queue at a
//     bounded rate, in bounded calls, with a dry run and a reason filter.
//     Each copy keeps the message's attributes with gwtap-replay-count
//     incremented, and the original is deleted only after SQS accepted the
//     copy: a failure anywhere leaves a duplicate, which the node drops by
//     record id, never a loss. Messages at the replay limit, or older than
//     the maximum age, are parked: left in the DLQ, counted, reported in the
//     MessagesParked metric (the template alarms on it), and never looped.
//   - Reingest: runs the raw CloudWatch Logs events kept in the ingest
//     failure queue (Lambda's OnFailure invocation records) through ingest
//     again, deleting each once its records are enqueued.
//   - Probe: the node's GET /healthz.
//
// NewAdminHandler serves these over HTTP; LambdaHandler dispatches the
// replay function's events, direct JSON invocations and Function URL
// requests alike.
//
// # What is approximate
//
// SQS counts (ApproximateNumberOfMessages and friends) are approximate and
// eventually consistent. SQS has no attribute for the age of the oldest
// message or for reasons, so Status samples: it receives messages with a
// short visibility timeout and makes them visible again at once. Figures
// from the sample are exact only when SampleComplete is true; while a
// sample is taken, a concurrent re-drive does not see the sampled messages.
// The first-failure time of a message SQS moved by its redrive policy is its
// SentTimestamp, which SQS keeps from the original enqueue, so its age is
// slightly overstated. (local-aws-sqs, used in tests, counts in-flight
// messages as visible too; see package localsqs.)
//
// # Parked and set-aside messages
//
// A re-drive hides the messages it parks or skips until just after its run
// ends (its Deadline, or the end of the call), by setting their visibility
// timeout, so the run's later pages do not see them again. A run that is a
// single call (the CLI, the admin API) makes them visible again when it
// ends; the state machine's pages leave them hidden until the run's
// deadline, so `aws sqs` and Status count them as in flight meanwhile. A
// message can only leave the parked state by an operator: a re-drive with a
// higher replay limit, or deleting it.
package replay
