// Package localsqs runs local-aws-sqs, an in-memory Amazon SQS API written in
// JavaScript, as a child process on a loopback port, so integration tests talk
// to a real SQS wire protocol (JSON, as aws-sdk-go-v2 speaks it) without AWS or
// Docker.
//
// The package comes from npm: `npm ci` in the repository root installs the
// version pinned in package.json into node_modules/. Start finds it by walking
// up from the working directory to go.mod and runs, from the repository root,
//
//	node internal/localsqs/server.mjs --port 0 --exit-with-stdin
//
// The script lets the kernel pick a free port and prints it, so servers
// started in parallel never race for one. Server.Close kills its process
// group, and it exits by itself when its standard input closes, so a test
// binary that dies does not leave it behind. Tests use package localsqstest,
// which skips (or fails under CI) when the stand-in is not installed.
//
// What works against aws-sdk-go-v2, checked by this package's tests:
// CreateQueue with VisibilityTimeout, MaximumMessageSize and RedrivePolicy;
// GetQueueUrl; GetQueueAttributes; SendMessage and SendMessageBatch with
// String and Number message attributes (the SDK verifies the MD5 checksums);
// ReceiveMessage with MessageAttributeNames ["All"] and
// MessageSystemAttributeNames (ApproximateReceiveCount, SentTimestamp, ...),
// including long polling; DeleteMessageBatch; ChangeMessageVisibility;
// redrive to the dead-letter queue after maxReceiveCount receives, with
// DeadLetterQueueSourceArn set; ListDeadLetterSourceQueues;
// StartMessageMoveTask and ListMessageMoveTasks; the SDK's typed errors such as
// *types.QueueDoesNotExist and *types.QueueNameExists.
//
// Where local-aws-sqs 2.0.2 differs from SQS:
//
//   - ApproximateNumberOfMessages counts in-flight messages too (SQS counts
//     only visible ones); ApproximateNumberOfMessagesNotVisible tells them
//     apart.
//   - ChangeMessageVisibility (and its batch form) adds one to the message's
//     ApproximateReceiveCount, which counts toward maxReceiveCount: extending
//     a message's visibility can send it to the dead-letter queue sooner.
//   - A message moves to the dead-letter queue when its visibility timeout
//     expires after the maxReceiveCount-th receive, not on the next receive.
//     In the dead-letter queue it keeps its MessageId and attributes, but its
//     ApproximateReceiveCount starts again from zero and its SentTimestamp is
//     the time of the move.
//   - PurgeQueue is accepted but deletes the messages only 60 seconds later;
//     tests should delete messages or use fresh queues instead.
//   - A ReceiveMessage that finds fewer than MaxNumberOfMessages messages
//     takes about 40 ms, even without long polling.
//   - ErrorCode() of an SDK error is the legacy code, such as
//     AWS.SimpleQueueService.NonExistentQueue, as it is against SQS itself:
//     match errors with errors.As and the types in the SDK's types package.
//
// Two differences are fixed by server.mjs, which sits in front of the request
// handler: local-aws-sqs reads only the deprecated AttributeNames of
// ReceiveMessage and ignores MessageSystemAttributeNames, which current SDKs
// send; and its long poll waits the whole WaitTimeSeconds unless
// MaxNumberOfMessages messages turn up, returning a message twice if its
// visibility timeout expires during the wait. With the shims both attribute
// fields work, and a long poll returns as soon as a message is there.
package localsqs
