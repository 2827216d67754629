package lambdaemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Lambda's payload limits for synchronous invocations.
const (
	// MaxRequestBytes is the largest event Invoke accepts (6 MB).
	MaxRequestBytes = 6 << 20
	// MaxResponseBytes is the largest response a function may return; a
	// larger one fails the invocation with ErrorTypeResponseTooLarge.
	MaxResponseBytes = 6291556
)

// memoryPoll is how often VmHWM is read during an invocation to enforce the
// memory limit. VmHWM is a high-water mark, so polling never misses a peak;
// it only notices it up to this much later.
const memoryPoll = 10 * time.Millisecond

var (
	// ErrClosed is returned by Invoke and Start after Close.
	ErrClosed = errors.New("lambda emulator is closed")
	// ErrRequestTooLarge is returned (wrapped) by Invoke for an event over
	// MaxRequestBytes; the function is not invoked, as Lambda refuses it.
	ErrRequestTooLarge = errors.New("request payload too large")
	// ErrInvalidPayload is returned (wrapped) by Invoke for an event that is
	// not JSON, which Lambda refuses too.
	ErrInvalidPayload = errors.New("request payload is not JSON")
)

// Request is one invocation's input.
type Request struct {
	// Payload is the event, a JSON document.
	Payload []byte
	// ClientContext is the JSON the runtime gets in
	// Lambda-Runtime-Client-Context (Invoke's ClientContext, decoded); empty
	// for none.
	ClientContext string
	// CognitoIdentity is the JSON the runtime gets in
	// Lambda-Runtime-Cognito-Identity; empty for none.
	CognitoIdentity string
	// TraceID is the X-Ray header passed as Lambda-Runtime-Trace-Id; empty
	// means a new, unsampled trace.
	TraceID string
}

// Emulator is one execution environment of one function: at most one
// bootstrap process at a time, invoked one event at a time. Its methods are
// safe for concurrent use; concurrent invocations wait for each other.
type Emulator struct {
	cfg  Config
	env  []string
	logs *logCapture

	// invoking is held by Invoke, Start and Close: an execution environment
	// handles one thing at a time.
	invoking  sync.Mutex
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex
	proc  *process // the live process, nil before the first and after each exit
	stats Stats
}

// New validates cfg and returns an Emulator for it. No process starts until
// the first Invoke (or Start), as with Lambda's on-demand environments. It
// returns an error wrapping ErrInvalidConfig, listing every problem, for an
// invalid cfg, or the error of creating the log pipe.
func New(cfg Config) (*Emulator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var err error
	if cfg.Bootstrap, err = filepath.Abs(cfg.Bootstrap); err != nil {
		return nil, fmt.Errorf("%w: Bootstrap: %v", ErrInvalidConfig, err)
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("%w: Dir: %v", ErrInvalidConfig, err)
	}
	logs, err := newLogCapture(cfg.MaxLogBytes)
	if err != nil {
		return nil, err
	}
	return &Emulator{
		cfg:     cfg,
		env:     cfg.environment(newLogStream(time.Now(), cfg.Version)),
		logs:    logs,
		closing: make(chan struct{}),
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (e *Emulator) Config() Config {
	return e.cfg
}

// Stats returns the figures gathered so far.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Start runs the init phase now, if no process is live, instead of at the
// next Invoke; the next Invoke is then warm. It returns an *InitError when
// the function fails to initialize, ErrClosed after Close, ctx's error, or
// the error of starting the process.
func (e *Emulator) Start(ctx context.Context) error {
	e.invoking.Lock()
	defer e.invoking.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	if e.live() != nil {
		return nil
	}
	_, ie, err := e.initProcess(ctx, newRequestID())
	if err != nil {
		return err
	}
	if ie != nil {
		return ie
	}
	return nil
}

// Invoke invokes the function with payload; see InvokeRequest.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (Result, error) {
	return e.InvokeRequest(ctx, Request{Payload: payload})
}

// InvokeRequest invokes the function synchronously, starting a process
// first when none is live, and returns the outcome. A function that fails,
// in its code or because the platform stopped it (timeout, exit, memory),
// is not an error: Result.FunctionError says how, as Lambda's Invoke does.
//
// It returns ErrRequestTooLarge or ErrInvalidPayload (wrapped) for a payload
// Lambda would refuse, ErrClosed after Close, ctx's error when ctx ends
// first (the process is then stopped), or the error of starting the
// process.
func (e *Emulator) InvokeRequest(ctx context.Context, req Request) (Result, error) {
	if len(req.Payload) > MaxRequestBytes {
		return Result{}, fmt.Errorf("%w: %d bytes, over the %d-byte limit of a synchronous invocation", ErrRequestTooLarge, len(req.Payload), MaxRequestBytes)
	}
	if !json.Valid(req.Payload) {
		return Result{}, fmt.Errorf("%w: could not parse request body into json", ErrInvalidPayload)
	}
	e.invoking.Lock()
	defer e.invoking.Unlock()
	if e.isClosed() {
		return Result{}, ErrClosed
	}
	res := Result{RequestID: newRequestID(), MemorySizeMB: e.cfg.MemoryMB}
	for {
		p := e.live()
		if p == nil {
			res.ColdStart = true
			var ie *InitError
			var err error
			if p, ie, err = e.initProcess(ctx, res.RequestID); err != nil {
				return Result{}, err
			}
			if ie != nil {
				res.FunctionError, res.Payload, res.Logs = ie.Err, ie.payload, ie.Logs
				res.InitDuration, res.MaxMemoryUsed = ie.Duration, ie.peakRSS
				res.BilledDuration = billed(ie.Duration)
				e.count(res)
				return res, nil
			}
			res.InitDuration = p.firstNext
		}
		out, idleExit, err := e.invokeOn(ctx, p, req, res)
		if idleExit && !res.ColdStart {
			// The process died between invocations; Lambda would start a
			// new environment for this one, and so do we.
			continue
		}
		return out, err
	}
}

// Close stops the process, SIGTERM first when the runtime registered an
// extension (then SIGKILL after ShutdownGrace), SIGKILL otherwise, as
// Lambda does, and releases the emulator. An Invoke in progress returns
// ErrClosed. Stats stay readable; ExitMaxRSS then holds the last process's
// ru_maxrss. It returns an error only when the process could not be
// signalled; calling it again returns the same.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		close(e.closing)
		e.invoking.Lock()
		defer e.invoking.Unlock()
		if p := e.live(); p != nil {
			e.closeErr = e.stop(p)
		}
		e.logs.close()
	})
	return e.closeErr
}

func (e *Emulator) isClosed() bool {
	select {
	case <-e.closing:
		return true
	default:
		return false
	}
}

// live returns the running process, or nil.
func (e *Emulator) live() *process {
	e.mu.Lock()
	p := e.proc
	e.mu.Unlock()
	if p != nil && p.alive() {
		return p
	}
	return nil
}

func (e *Emulator) count(res Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Invocations++
	e.stats.PeakRSS = max(e.stats.PeakRSS, res.MaxMemoryUsed)
}

// spawn starts a bootstrap process with its own Runtime API listener.
func (e *Emulator) spawn() (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the runtime API: %w", err)
	}
	p := newProcess(&e.cfg, ln)
	go p.serve()
	cmd := exec.Command(e.cfg.Bootstrap)
	cmd.Dir = e.cfg.Dir
	cmd.Env = append(slices.Clip(e.env), "AWS_LAMBDA_RUNTIME_API="+p.address())
	cmd.Stdout = e.logs.writer()
	cmd.Stderr = e.logs.writer()
	setProcessGroup(cmd)
	p.cmd = cmd
	p.spawnerRSS, _ = readHWM(os.Getpid()) // 0 where unavailable
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		_ = p.srv.Close()
		return nil, fmt.Errorf("starting %s: %w", e.cfg.Bootstrap, err)
	}
	e.mu.Lock()
	e.proc = p
	e.stats.ColdStarts++
	e.stats.FirstNext = 0
	e.mu.Unlock()
	go e.reap(p)
	return p, nil
}

// reap waits for the process to exit and records how it ended.
func (e *Emulator) reap(p *process) {
	_ = p.cmd.Wait() // how it ended is in ProcessState
	p.state = p.cmd.ProcessState
	p.exitedAt = time.Now()
	p.mu.Lock()
	peak := max(p.hwm, p.ownMaxRSS())
	p.mu.Unlock()
	e.mu.Lock()
	e.stats.ExitMaxRSS = exitMaxRSS(p.state)
	e.stats.SpawnerRSS = p.spawnerRSS
	e.stats.LastExit = p.state.String()
	e.stats.PeakRSS = max(e.stats.PeakRSS, peak)
	if e.proc == p {
		e.proc = nil
	}
	e.mu.Unlock()
	close(p.exited)
	_ = p.srv.Close()
}

// stop ends the process as Lambda ends an execution environment, and waits
// until it has exited.
func (e *Emulator) stop(p *process) error {
	var err error
	p.stopOnce.Do(func() {
		close(p.shutdown)
		if !p.alive() {
			return
		}
		_, _ = p.sampleHWM() // the peak, before the process goes
		if !p.hasShutdownListeners() {
			err = kill(p.cmd)
			return
		}
		if err = terminate(p.cmd); err != nil {
			return
		}
		grace := time.NewTimer(e.cfg.ShutdownGrace)
		defer grace.Stop()
		select {
		case <-p.exited:
		case <-grace.C:
			err = kill(p.cmd)
		}
	})
	if err != nil {
		return err
	}
	<-p.exited
	return nil
}

// stopNow kills the process at once, as the kernel does when a sandbox runs
// out of memory.
func (e *Emulator) stopNow(p *process) {
	p.stopOnce.Do(func() {
		close(p.shutdown)
		_, _ = p.sampleHWM()
		_ = kill(p.cmd) // an error means it is gone already
	})
	<-p.exited
}

// retire gives a process that reported an init error the grace period to
// exit by itself, as runtimes do after posting one, then stops it.
func (e *Emulator) retire(p *process) {
	grace := time.NewTimer(e.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-p.exited:
	case <-grace.C:
	}
	_ = e.stop(p) // signalling fails only for a process already gone
}

// initProcess starts a process and waits until it is ready for an
// invocation (its first /next). An init failure is returned as an
// *InitError with the process stopped; an error means the emulator itself
// could not go on.
func (e *Emulator) initProcess(ctx context.Context, requestID string) (*process, *InitError, error) {
	p, err := e.spawn()
	if err != nil {
		return nil, nil, err
	}
	timer := time.NewTimer(e.cfg.InitTimeout)
	defer timer.Stop()
	var (
		posted   outcome
		status   = "error"
		exitLine string
	)
	select {
	case t := <-p.nextCalls:
		p.firstNext = t.Sub(p.started)
		// A first reading, for a process that dies before the watcher's.
		_, _ = p.sampleHWM()
		e.mu.Lock()
		e.stats.FirstNext = p.firstNext
		e.mu.Unlock()
		return p, nil, nil
	case posted = <-p.initErrors:
	case <-p.exited:
		select {
		case posted = <-p.initErrors: // posted just before exiting
		default:
			fe := exitError(requestID, p, PhaseInit)
			posted = outcome{payload: fe.document(), err: fe, platform: true}
			exitLine = exitLogLine(requestID, p, fe.Type)
		}
	case <-timer.C:
		status = "timeout"
		fe := &FunctionError{Type: ErrorTypeTimeout, Phase: PhaseInit,
			Message: fmt.Sprintf("RequestId: %s Error: Init timed out after %.2f seconds", requestID, e.cfg.InitTimeout.Seconds())}
		posted = outcome{payload: fe.document(), err: fe, platform: true}
	case <-ctx.Done():
		_ = e.stop(p)
		return nil, nil, fmt.Errorf("initializing %s: %w", e.cfg.FunctionName, ctx.Err())
	case <-e.closing:
		_ = e.stop(p)
		return nil, nil, ErrClosed
	}
	dur := time.Since(p.started)
	if status == "timeout" {
		_ = e.stop(p)
	} else {
		e.retire(p)
	}
	report := fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: %s", ms(dur), status)
	if status == "error" {
		report += "\tError Type: " + posted.err.Type
	}
	logs := e.logs.cut()
	if exitLine != "" {
		logs = append(logs, exitLine+"\n"...)
	}
	logs = append(logs, report+"\n"...)
	return nil, &InitError{Err: posted.err, Duration: dur, Logs: logs, payload: posted.payload, peakRSS: p.peakRSS()}, nil
}

// invokeOn runs one invocation on a ready process. idleExit reports that
// the process had exited before the event could be handed over.
func (e *Emulator) invokeOn(ctx context.Context, p *process, req Request, res Result) (_ Result, idleExit bool, _ error) {
	inv := newInvocation(res.RequestID, req, time.Now().Add(e.cfg.Timeout))
	p.handOver(inv)
	timeout := time.NewTimer(e.cfg.Timeout)
	defer timeout.Stop()

	var lines []string // platform lines appended to the logs
	select {
	case p.deliver <- inv:
	case <-p.exited:
		if !res.ColdStart {
			return Result{}, true, nil
		}
		fe := exitError(res.RequestID, p, PhaseInvoke)
		inv.finish(outcome{payload: fe.document(), err: fe, platform: true})
		lines = append(lines, exitLogLine(res.RequestID, p, fe.Type))
	case <-timeout.C:
		// The runtime never asked for the event: a timeout all the same.
		inv.finish(e.timeoutOutcome(res.RequestID))
		_ = e.stop(p)
		lines = append(lines, e.timeoutLogLine(res.RequestID))
	case <-ctx.Done():
		_ = e.stop(p)
		return Result{}, false, fmt.Errorf("invoking %s: %w", e.cfg.FunctionName, ctx.Err())
	case <-e.closing:
		return Result{}, false, ErrClosed
	}
	start := time.Now()

	watching := make(chan struct{})
	defer close(watching)
	oom := e.watchMemory(p, watching)

	if !inv.finished() {
		select {
		case <-inv.done:
		case <-p.exited:
			fe := exitError(res.RequestID, p, PhaseInvoke)
			if inv.finish(outcome{payload: fe.document(), err: fe, platform: true}) {
				lines = append(lines, exitLogLine(res.RequestID, p, fe.Type))
			}
		case <-timeout.C:
			if inv.finish(e.timeoutOutcome(res.RequestID)) {
				_ = e.stop(p)
				lines = append(lines, e.timeoutLogLine(res.RequestID))
			}
		case <-oom:
			fe := &FunctionError{Type: ErrorTypeOutOfMemory, Phase: PhaseInvoke,
				Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed", res.RequestID)}
			if inv.finish(outcome{payload: fe.document(), err: fe, platform: true}) {
				e.stopNow(p)
				lines = append(lines, fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed\n%s", res.RequestID, ErrorTypeOutOfMemory))
			}
		case <-ctx.Done():
			_ = e.stop(p)
			return Result{}, false, fmt.Errorf("invoking %s: %w", e.cfg.FunctionName, ctx.Err())
		case <-e.closing:
			return Result{}, false, ErrClosed
		}
	}

	end := inv.out.at
	if !inv.out.platform && p.alive() {
		// The runtime answered; the invocation lasts until it asks for the
		// next event, as Lambda measures it, and a runtime that keeps
		// working past the deadline is stopped all the same. A new timer,
		// because the first may have fired as the answer came in.
		deadline := time.NewTimer(time.Until(inv.deadline))
		defer deadline.Stop()
		select {
		case t := <-p.nextCalls:
			end = t
		case <-p.exited:
			end = p.exitedAt
			if !p.state.Success() {
				lines = append(lines, exitLogLine(res.RequestID, p, ErrorTypeExit))
			}
		case <-deadline.C:
			end = time.Now()
			_ = e.stop(p)
			lines = append(lines, e.timeoutLogLine(res.RequestID))
		case <-oom:
			end = time.Now()
			e.stopNow(p)
			lines = append(lines, fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed\n%s", res.RequestID, ErrorTypeOutOfMemory))
		case <-ctx.Done():
			end = time.Now()
			_ = e.stop(p)
		case <-e.closing:
			end = time.Now()
		}
	} else if !inv.out.platform {
		end = p.exitedAt
		if !p.state.Success() {
			lines = append(lines, exitLogLine(res.RequestID, p, ErrorTypeExit))
		}
	}

	res.Payload, res.FunctionError = inv.out.payload, inv.out.err
	res.Duration = max(0, end.Sub(start))
	res.BilledDuration = billed(res.Duration + res.InitDuration)
	res.MaxMemoryUsed = p.peakRSS()
	res.Logs = e.logs.cut()
	for _, l := range lines {
		res.Logs = append(res.Logs, l+"\n"...)
	}
	e.count(res)
	return res, false, nil
}

func (e *Emulator) timeoutOutcome(requestID string) outcome {
	fe := &FunctionError{Type: ErrorTypeTimeout, Phase: PhaseInvoke,
		Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, e.cfg.Timeout.Seconds())}
	return outcome{payload: fe.document(), err: fe, platform: true}
}

// timeoutLogLine is the line Lambda writes to the function's log stream.
func (e *Emulator) timeoutLogLine(requestID string) string {
	return fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), requestID, e.cfg.Timeout.Seconds())
}

// watchMemory polls the process's VmHWM while watching is open and closes
// the returned channel when it passes the memory size. It returns nil (a
// channel that never fires) when the limit is off.
func (e *Emulator) watchMemory(p *process, watching <-chan struct{}) <-chan struct{} {
	if e.cfg.IgnoreMemoryLimit {
		return nil
	}
	limit := int64(e.cfg.MemoryMB) << 20
	over := make(chan struct{})
	go func() {
		tick := time.NewTicker(memoryPoll)
		defer tick.Stop()
		for {
			select {
			case <-watching:
				return
			case <-p.exited:
				return
			case <-tick.C:
			}
			hwm, err := p.sampleHWM()
			if err != nil {
				return // no /proc: the limit cannot be enforced
			}
			if hwm > limit {
				close(over)
				return
			}
		}
	}()
	return over
}

// exitError is the error Lambda reports when the runtime exits before
// answering.
func exitError(requestID string, p *process, phase Phase) *FunctionError {
	return &FunctionError{Type: ErrorTypeExit, Phase: phase,
		Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", requestID, p.state)}
}

// exitLogLine is what Lambda writes to the log stream when the runtime exits.
func exitLogLine(requestID string, p *process, typ string) string {
	return fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s\n%s", requestID, p.state, typ)
}

// newRequestID returns a random (version 4) UUID, as Lambda's request ids are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newTraceID returns an X-Ray trace header for an unsampled trace.
func newTraceID(now time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}

// newLogStream returns a log stream name as Lambda makes them.
func newLogStream(now time.Time, version string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}
