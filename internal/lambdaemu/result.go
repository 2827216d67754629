package lambdaemu

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Error types Lambda reports for failures outside the function's own code,
// in FunctionError.Type and the error document of Result.Payload.
const (
	// ErrorTypeTimeout: the function ran past its timeout (or its init past
	// InitTimeout).
	ErrorTypeTimeout = "Sandbox.Timedout"
	// ErrorTypeExit: the runtime process exited before answering.
	ErrorTypeExit = "Runtime.ExitError"
	// ErrorTypeOutOfMemory: the process grew past the memory size and was killed.
	ErrorTypeOutOfMemory = "Runtime.OutOfMemory"
	// ErrorTypeResponseTooLarge: the response was over MaxResponseBytes.
	ErrorTypeResponseTooLarge = "Function.ResponseSizeTooLarge"
	// ErrorTypeUnhandled: the runtime posted an error without a type.
	ErrorTypeUnhandled = "Unhandled"
)

// Phase says which part of an execution environment's life failed.
type Phase string

// The phases a FunctionError can come from.
const (
	PhaseInit   Phase = "init"
	PhaseInvoke Phase = "invoke"
)

// FunctionError is a failed invocation, as Lambda's Invoke reports it with
// X-Amz-Function-Error: either the error the runtime posted, or one the
// platform raised (the ErrorType constants).
type FunctionError struct {
	// Type is the errorType: Lambda-Runtime-Function-Error-Type when the
	// runtime sent it, else the errorType of the posted document, else
	// ErrorTypeUnhandled; or one of the ErrorType constants.
	Type string
	// Message is the errorMessage.
	Message string
	// Phase is PhaseInit when the runtime failed to start.
	Phase Phase
}

// Error returns "Type: Message", with the phase for init failures.
func (e *FunctionError) Error() string {
	if e.Phase == PhaseInit {
		return fmt.Sprintf("init failed: %s: %s", e.Type, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// document returns the JSON error document Lambda returns for e.
func (e *FunctionError) document() []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{e.Type, e.Message})
	return b
}

// InitError is returned by Emulator.Start when the function's init phase
// fails: the bootstrap exited, posted /init/error, or timed out.
type InitError struct {
	// Err says what failed; its Phase is PhaseInit.
	Err *FunctionError
	// Duration is the time from process start to the failure.
	Duration time.Duration
	// Logs is what the process wrote, followed by Lambda's INIT_REPORT line.
	Logs []byte

	payload []byte // the error document, as Invoke returns it
	peakRSS int64
}

// Error describes the failure.
func (e *InitError) Error() string {
	return e.Err.Error()
}

// Unwrap returns the FunctionError.
func (e *InitError) Unwrap() error {
	return e.Err
}

// Result is the outcome of one invocation, with the figures Lambda puts in
// its REPORT line.
type Result struct {
	// RequestID is the invocation's request id.
	RequestID string
	// Payload is the response; for a failed invocation, the error document
	// ({"errorType":…,"errorMessage":…}), as Lambda's Invoke returns it.
	Payload []byte
	// FunctionError is nil when the invocation succeeded.
	FunctionError *FunctionError
	// ColdStart is true when a process was started for this invocation.
	ColdStart bool
	// InitDuration is, for a cold start, the time from process start to its
	// first /next request (or to its init failure); zero otherwise.
	InitDuration time.Duration
	// Duration is the time from handing the event to the runtime to the
	// runtime's next /next request (or its exit, or the timeout).
	Duration time.Duration
	// BilledDuration is Duration plus InitDuration rounded up to the
	// millisecond: OS-only runtimes are billed for init.
	BilledDuration time.Duration
	// MemorySizeMB is the configured memory size.
	MemorySizeMB int
	// MaxMemoryUsed is the process's peak resident set so far, in bytes:
	// VmHWM while it runs, ru_maxrss once it has exited; zero when neither
	// is available.
	MaxMemoryUsed int64
	// Logs is what the process wrote to stdout and stderr during the
	// invocation (and its init, for a cold start), followed by the lines
	// Lambda adds for timeouts, exits and init failures.
	Logs []byte
}

// Report returns Lambda's REPORT line for the invocation, tab separated:
//
//	REPORT RequestId: …	Duration: 12.34 ms	Billed Duration: 53 ms	Memory Size: 128 MB	Max Memory Used: 19 MB	Init Duration: 40.12 ms
//
// with Status and Error Type added when the platform ended the invocation
// (timeout, exit, out of memory), as Lambda does.
func (r Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, ms(r.Duration), r.BilledDuration.Milliseconds(), r.MemorySizeMB, (r.MaxMemoryUsed+(1<<20)-1)>>20)
	if r.ColdStart {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", ms(r.InitDuration))
	}
	if fe := r.FunctionError; fe != nil && isPlatformError(fe.Type) {
		if fe.Type == ErrorTypeTimeout {
			b.WriteString("\tStatus: timeout")
		} else {
			fmt.Fprintf(&b, "\tStatus: error\tError Type: %s", fe.Type)
		}
	}
	return b.String()
}

func isPlatformError(typ string) bool {
	switch typ {
	case ErrorTypeTimeout, ErrorTypeExit, ErrorTypeOutOfMemory, ErrorTypeResponseTooLarge:
		return true
	}
	return false
}

func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// billed rounds d up to the millisecond.
func billed(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// Stats are figures over an Emulator's life.
type Stats struct {
	// Invocations counts invocations, failed ones included.
	Invocations int
	// ColdStarts counts processes started.
	ColdStarts int
	// FirstNext is the time from the start of the latest process to its
	// first /next request; zero until one made it.
	FirstNext time.Duration
	// PeakRSS is the highest VmHWM seen in any process, in bytes.
	PeakRSS int64
	// ExitMaxRSS is ru_maxrss of the latest process that exited, in bytes;
	// after Close, that of the last process. Linux counts in it the peak RSS
	// the emulator's own process had when it started the bootstrap
	// (SpawnerRSS): when ExitMaxRSS is not above SpawnerRSS it is that
	// figure, not the function's, and VmHWM (PeakRSS) is the one to use.
	ExitMaxRSS int64
	// SpawnerRSS is the emulator's process's own peak RSS (VmHWM) when it
	// started the latest exited process; 0 when unknown.
	SpawnerRSS int64
	// LastExit is how the latest exited process ended, as "exit status 2"
	// or "signal: killed"; empty while none has.
	LastExit string
}
