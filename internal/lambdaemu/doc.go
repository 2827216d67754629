// Package lambdaemu runs a Lambda function's bootstrap the way AWS Lambda
// does, so the real binaries can be invoked and measured on a developer's
// machine or in CI without AWS, Docker or the Runtime Interface Emulator.
//
// An Emulator owns one execution environment of one function. It starts the
// bootstrap as a child process with the environment Lambda gives a custom
// runtime (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, _HANDLER,
// TZ=:UTC, LAMBDA_TASK_ROOT, AWS_LAMBDA_LOG_FORMAT, … plus the function's own
// variables and nothing from the parent's environment), serves the Lambda
// Runtime API (version 2018-06-01) to it on a loopback port, and hands it
// invocations one at a time:
//
//	GET  /2018-06-01/runtime/invocation/next          blocks until an invocation
//	POST /2018-06-01/runtime/invocation/{id}/response the function's result
//	POST /2018-06-01/runtime/invocation/{id}/error    a function error
//	POST /2018-06-01/runtime/init/error               the runtime failed to start
//
// /next answers with the payload and the headers Lambda-Runtime-Aws-Request-Id,
// Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn,
// Lambda-Runtime-Trace-Id and, when the invocation carries them,
// Lambda-Runtime-Client-Context and Lambda-Runtime-Cognito-Identity. Posts are
// answered 202 as Lambda does; a post for an unknown or already answered
// request id gets 400 InvalidRequestID, one that makes no sense in the
// current state (an init error after the first invocation) 403
// InvalidStateTransition, and a response over MaxResponseBytes 413.
//
// Enough of the Extensions API (2020-01-01) is served for
// aws-lambda-go's lambda.WithEnableSIGTERM: registering an extension, and an
// event/next that blocks until shutdown (and then returns SHUTDOWN to an
// extension that asked for it). INVOKE events are not delivered.
//
// What Lambda does around the runtime is emulated too:
//
//   - Invocations start the process on demand (a cold start) and reuse it
//     while it lives (warm starts). Result.InitDuration is the time from
//     process start to its first /next; Lambda reports it as Init Duration.
//   - The function timeout: the deadline header is Timeout after the hand
//     over, and a function still running then is stopped and reported as
//     Sandbox.Timedout, "RequestId: … Error: Task timed out after 3.00
//     seconds", like Lambda; the next invocation starts a new process.
//   - The init phase: a bootstrap that exits before its first /next, posts
//     /init/error, or stays in init past InitTimeout (Lambda's 10 s) fails
//     the invocation with a FunctionError whose Phase is PhaseInit.
//   - A runtime that exits during an invocation fails it with
//     Runtime.ExitError, "RequestId: … Error: Runtime exited with error: exit
//     status 2". A Go panic is reported with the error aws-lambda-go posts,
//     after which the runtime exits and the next invocation is a cold start.
//   - Memory: the process's peak resident set (VmHWM in /proc/PID/status,
//     sampled during invocations and read when each ends) is
//     Result.MaxMemoryUsed, Lambda's Max Memory Used; when the process is
//     gone, ru_maxrss from its ProcessState is used instead, if it is larger
//     than the emulator's own peak when it spawned the process: Linux counts
//     the spawner's peak in a child's ru_maxrss, so a smaller figure says
//     nothing about the function (Stats has both numbers). A process whose
//     peak passes MemoryMB is killed and the invocation fails with
//     Runtime.OutOfMemory, as Lambda's memory limit would, unless
//     Config.IgnoreMemoryLimit is set. Stats reports the peaks over the
//     emulator's life, including ru_maxrss of the last process that exited.
//   - Logs: the process's stdout and stderr go to one pipe, as in Lambda, and
//     each Result holds what was written during its invocation (the init
//     output goes with the cold start's invocation), followed by the
//     platform lines Lambda adds for timeouts, exits and init failures.
//     Result.Report formats the REPORT line.
//   - Shutdown (Close, and after a timeout or an init failure): SIGKILL, or,
//     when the runtime registered an extension, SIGTERM and SIGKILL after
//     Config.ShutdownGrace (500 ms by default), as Lambda does. The signals go
//     to the process group, so helpers a bootstrap starts go too.
//
// Payloads must be JSON and at most MaxRequestBytes (6 MB), as for a
// synchronous Invoke; responses above MaxResponseBytes fail with
// Function.ResponseSizeTooLarge. One invocation runs at a time: an Emulator
// is one execution environment, so Lambda's concurrency is one Emulator per
// concurrent invocation.
//
// Build compiles a Go main package into a bootstrap with the flags the
// Makefile uses (CGO_ENABLED=0, -trimpath -ldflags '-s -w' -tags
// lambda.norpc), reusing the binary while it is newer than its sources.
//
// The memory figures need Linux: elsewhere VmHWM is unavailable, so the
// memory limit is not enforced and only ru_maxrss at exit (on macOS) is
// reported.
package lambdaemu
