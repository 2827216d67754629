// Package localsqs runs local-aws-sqs, an in-memory Amazon SQS API written in
// JavaScript, as a child process on a loopback port, so integration tests talk
// to a real SQS wire protocol (JSON, as aws-sdk-go-v2 speaks it) without AWS or
// Docker.
//
// The package comes from npm: `npm ci` in the repository root installs the
// version pinned in package.json into node_modules/. Start finds it by walking
// up from the working directory to go.mod and runs
//
//	node internal/localsqs/server.mjs --port 0 --exit-with-stdin
//
// from the repository root. The script lets the kernel pick a free port and
// prints it, so servers started in parallel never race for one. Its process
// group is killed by Server.Close, and it exits by itself when its standard
// input closes, so a test binary that dies does not leave it behind. Tests use
// package localsqstest, which skips (or fails under CI) when the stand-in is
// not installed.
//
// The stand-in matches SQS closely for what gwtap uses: CreateQueue with
// attributes, GetQueueUrl, SendMessageBatch and ReceiveMessage with message
// attributes and MD5 checksums the SDK verifies, DeleteMessageBatch,
// ChangeMessageVisibility, redrive to a dead-letter queue, StartMessageMoveTask,
// and typed errors such as *types.QueueDoesNotExist. Where it differs:
//
//   - ApproximateNumberOfMessages counts in-flight messages too (SQS counts
//     only visible ones); use ApproximateNumberOfMessagesNotVisible to tell.
//   - A message moves to the dead-letter queue when its visibility timeout
//     expires after the maxReceiveCount-th receive, not on the next receive;
//     in the dead-letter queue its ApproximateReceiveCount starts again from
//     zero and SentTimestamp is the time of the move.
//   - PurgeQueue is accepted but deletes the messages only 60 seconds later,
//     so tests should delete messages or use fresh queues instead.
//   - local-aws-sqs ignores MessageSystemAttributeNames on ReceiveMessage and
//     reads only the deprecated AttributeNames; server.mjs merges the former
//     into the latter, so both work here.
package localsqs
