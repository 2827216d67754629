package lambdaemu

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Runtime API headers.
const (
	headerRequestID       = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline        = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID         = "Lambda-Runtime-Trace-Id"
	headerClientContext   = "Lambda-Runtime-Client-Context"
	headerCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	headerErrorType       = "Lambda-Runtime-Function-Error-Type"
	// trailerErrorBody carries the error document, base64, of a streamed
	// response that failed after it started (aws-lambda-go sends it with
	// headerErrorType as trailers).
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"

	headerExtensionName = "Lambda-Extension-Name"
	headerExtensionID   = "Lambda-Extension-Identifier"
)

// invocation is one event handed to the runtime.
type invocation struct {
	id              string
	payload         []byte
	deadline        time.Time
	traceID         string
	clientContext   string
	cognitoIdentity string

	once sync.Once
	done chan struct{} // closed by finish
	out  outcome       // valid once done is closed
}

// outcome is how an invocation ended: the runtime's response or error, or a
// failure the platform decided (timeout, exit, out of memory).
type outcome struct {
	payload []byte
	err     *FunctionError
	// platform is set when the emulator, not the runtime, ended the
	// invocation.
	platform bool
	at       time.Time
}

func newInvocation(id string, req Request, deadline time.Time) *invocation {
	return &invocation{
		id: id, payload: req.Payload, deadline: deadline,
		traceID:         cmp.Or(req.TraceID, newTraceID(time.Now())),
		clientContext:   req.ClientContext,
		cognitoIdentity: req.CognitoIdentity,
		done:            make(chan struct{}),
	}
}

// finish records o unless the invocation already ended, and reports
// whether it did.
func (inv *invocation) finish(o outcome) bool {
	won := false
	inv.once.Do(func() {
		o.at = time.Now()
		inv.out = o
		won = true
		close(inv.done)
	})
	return won
}

func (inv *invocation) finished() bool {
	select {
	case <-inv.done:
		return true
	default:
		return false
	}
}

// extension is one registered extension.
type extension struct {
	name     string
	shutdown bool // registered for SHUTDOWN events
}

// process is one bootstrap process and the Runtime API server it talks to.
// Each process gets its own listener, so a stopping process can never take
// an invocation meant for its successor.
type process struct {
	cfg *Config
	cmd *exec.Cmd
	srv *http.Server
	ln  net.Listener

	started time.Time
	// firstNext is the time from start to the first /next request, set by
	// the emulator when init completes.
	firstNext time.Duration
	// nextCalls gets the time of each /next request; the emulator waits on
	// it for the end of init and of each invocation.
	nextCalls chan time.Time
	// deliver hands an invocation to a waiting /next request.
	deliver chan *invocation
	// initErrors gets the error a runtime posts to /init/error.
	initErrors chan outcome
	// shutdown is closed when the emulator starts stopping the process.
	shutdown chan struct{}
	stopOnce sync.Once

	exited   chan struct{} // closed once the process has been reaped
	state    *os.ProcessState
	exitedAt time.Time

	mu         sync.Mutex
	current    *invocation // the latest invocation handed over
	invoked    bool        // an invocation has been handed over: init is over
	extensions map[string]extension
	hwm        int64 // highest VmHWM read
	// spawnerRSS is this process's own VmHWM when it started the
	// bootstrap; 0 when unknown.
	spawnerRSS int64
}

func newProcess(cfg *Config, ln net.Listener) *process {
	p := &process{
		cfg: cfg, ln: ln,
		nextCalls:  make(chan time.Time, 1),
		deliver:    make(chan *invocation),
		initErrors: make(chan outcome, 1),
		shutdown:   make(chan struct{}),
		exited:     make(chan struct{}),
		extensions: map[string]extension{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", p.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", p.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", p.handleInvocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", p.handleInitError)
	mux.HandleFunc("POST /2020-01-01/extension/register", p.handleRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", p.handleExtensionNext)
	p.srv = &http.Server{
		Handler: mux,
		// /next is a long poll: no read or write timeouts, only one for
		// the request headers.
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	return p
}

// address is AWS_LAMBDA_RUNTIME_API: host:port, no scheme.
func (p *process) address() string {
	return p.ln.Addr().String()
}

func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// sampleHWM reads VmHWM while the process runs and keeps the highest value.
func (p *process) sampleHWM() (int64, error) {
	hwm, err := readHWM(p.cmd.Process.Pid)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && hwm > p.hwm {
		p.hwm = hwm
	}
	return p.hwm, err
}

// peakRSS is the process's peak resident set: VmHWM while it runs; once
// it exited, the last VmHWM read, or ru_maxrss when that is larger and
// says something about the function (see ownMaxRSS).
func (p *process) peakRSS() int64 {
	if p.alive() {
		if hwm, err := p.sampleHWM(); err == nil || hwm > 0 {
			return hwm
		}
	}
	p.mu.Lock()
	hwm := p.hwm
	p.mu.Unlock()
	select {
	case <-p.exited:
		return max(hwm, p.ownMaxRSS())
	default:
		return hwm
	}
}

// ownMaxRSS is ru_maxrss of the exited process when it measures the
// function, else 0. Linux charges the spawning process's peak RSS to the
// child's ru_maxrss (exec records the old address space's high-water mark,
// and the old address space is the spawner's), so ru_maxrss describes the
// function only when it is above spawnerRSS.
func (p *process) ownMaxRSS() int64 {
	if rss := exitMaxRSS(p.state); rss > p.spawnerRSS {
		return rss
	}
	return 0
}

func (p *process) hasShutdownListeners() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.extensions) > 0
}

// handOver makes inv the current invocation, before it is delivered, so its
// response can be matched however fast it comes.
func (p *process) handOver(inv *invocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current = inv
	p.invoked = true
}

func (p *process) handleNext(w http.ResponseWriter, r *http.Request) {
	select {
	case p.nextCalls <- time.Now():
	default:
	}
	select {
	case inv := <-p.deliver:
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, p.cfg.functionARN())
		h.Set(headerTraceID, inv.traceID)
		if inv.clientContext != "" {
			h.Set(headerClientContext, inv.clientContext)
		}
		if inv.cognitoIdentity != "" {
			h.Set(headerCognitoIdentity, inv.cognitoIdentity)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload) // a broken connection shows as the process failing
	case <-r.Context().Done():
		// The runtime hung up, or the server closed after the process
		// exited. A process being shut down gets no answer at all, as in
		// Lambda: an empty one would make it fail and exit by itself.
	}
}

// lookup returns the invocation a post names, or writes the error Lambda
// answers and returns nil.
func (p *process) lookup(w http.ResponseWriter, r *http.Request) *invocation {
	p.mu.Lock()
	inv, invoked := p.current, p.invoked
	p.mu.Unlock()
	switch {
	case !invoked:
		writeError(w, http.StatusForbidden, "InvalidStateTransition", "no invocation has been delivered yet: the runtime is still initializing")
		return nil
	case inv == nil || inv.id != r.PathValue("id") || inv.finished():
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return nil
	}
	return inv
}

func (p *process) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := p.lookup(w, r)
	if inv == nil {
		return
	}
	body, tooLarge, err := readLimited(r.Body, MaxResponseBytes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	}
	if tooLarge {
		fe := &FunctionError{Type: ErrorTypeResponseTooLarge, Phase: PhaseInvoke,
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}
		inv.finish(outcome{payload: fe.document(), err: fe})
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes))
		return
	}
	o := outcome{payload: body}
	if typ := r.Trailer.Get(headerErrorType); typ != "" {
		// The response started streaming, then its reader failed.
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		o = errorOutcome(typ, doc)
	}
	if !inv.finish(o) {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	writeAccepted(w)
}

func (p *process) handleInvocationError(w http.ResponseWriter, r *http.Request) {
	inv := p.lookup(w, r)
	if inv == nil {
		return
	}
	body, _, err := readLimited(r.Body, MaxResponseBytes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	}
	if !inv.finish(errorOutcome(r.Header.Get(headerErrorType), body)) {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	writeAccepted(w)
}

func (p *process) handleInitError(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	invoked := p.invoked
	p.mu.Unlock()
	if invoked {
		writeError(w, http.StatusForbidden, "InvalidStateTransition", "the runtime is past init: report errors for the invocation instead")
		return
	}
	body, _, err := readLimited(r.Body, MaxResponseBytes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "TruncatedHTTPRequest", "HTTP request detected as truncated")
		return
	}
	o := errorOutcome(r.Header.Get(headerErrorType), body)
	o.err.Phase = PhaseInit
	select {
	case p.initErrors <- o:
	default: // only the first init error counts
	}
	writeAccepted(w)
}

func (p *process) handleRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(headerExtensionName)
	if name == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequestFormat", "missing the "+headerExtensionName+" header")
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	body, _, err := readLimited(r.Body, 64<<10)
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestFormat", "the body must be {\"events\": [...]}")
		return
	}
	p.mu.Lock()
	if p.invoked {
		p.mu.Unlock()
		writeError(w, http.StatusForbidden, "Extension.InvalidStateTransition", "extensions register during init")
		return
	}
	id := newRequestID()
	p.extensions[id] = extension{name: name, shutdown: slices.Contains(req.Events, "SHUTDOWN")}
	p.mu.Unlock()
	w.Header().Set(headerExtensionID, id)
	writeJSON(w, http.StatusOK, map[string]string{
		"functionName": p.cfg.FunctionName, "functionVersion": p.cfg.Version, "handler": p.cfg.Handler,
	})
}

func (p *process) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	ext, ok := p.extensions[r.Header.Get(headerExtensionID)]
	p.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown "+headerExtensionID)
		return
	}
	shutdown := p.shutdown
	if !ext.shutdown {
		shutdown = nil // no event for it: block until the process goes
	}
	select {
	case <-shutdown:
		writeJSON(w, http.StatusOK, map[string]any{
			"eventType": "SHUTDOWN", "shutdownReason": "spindown",
			"deadlineMs": time.Now().Add(p.cfg.ShutdownGrace).UnixMilli(),
		})
	case <-r.Context().Done():
	}
}

// errorOutcome builds the outcome of a posted error document. The type is
// the header's when set, else the document's errorType, else
// ErrorTypeUnhandled. A body that is not JSON is wrapped in a document.
func errorOutcome(typ string, body []byte) outcome {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	isJSON := json.Unmarshal(body, &doc) == nil
	fe := &FunctionError{Type: cmp.Or(typ, doc.ErrorType, ErrorTypeUnhandled), Message: doc.ErrorMessage, Phase: PhaseInvoke}
	if !isJSON {
		fe.Message = string(body)
		body = fe.document()
	}
	return outcome{payload: body, err: fe}
}

// readLimited reads r up to limit bytes, reporting whether there was more.
func readLimited(r io.Reader, limit int) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading the request body: %w", err)
	}
	if len(b) > limit {
		// Drain the rest so the runtime's post completes.
		_, _ = io.Copy(io.Discard, r)
		return nil, true, nil
	}
	return b, false, nil
}

func writeAccepted(w http.ResponseWriter) {
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]string{"errorType": typ, "errorMessage": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // nothing to do for a runtime that hung up
}

// serve runs the Runtime API server until the process is stopped.
func (p *process) serve() {
	if err := p.srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// The listener failed; the runtime will fail to reach the API and
		// exit, which the emulator reports.
		_ = p.ln.Close()
	}
}
