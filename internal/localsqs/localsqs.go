package localsqs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNotInstalled reports that the stand-in cannot run on this machine:
// node_modules/local-aws-sqs is missing or is not the version package.json
// pins, or Node.js is not on PATH. `npm ci` in the repository root installs
// the package. Start wraps it with the details, so test with errors.Is.
var ErrNotInstalled = errors.New("local-aws-sqs is not installed")

const (
	// Region is the AWS region in every queue ARN the server makes and the
	// one Server.Client signs for.
	Region = "us-east-1"
	// AccountID is the account in every queue URL and ARN the server makes.
	AccountID = "123456789012"
	// DefaultStartTimeout bounds Start when Options.StartTimeout is zero.
	// Startup normally takes well under a second; the margin is for a
	// loaded CI machine.
	DefaultStartTimeout = 20 * time.Second

	packageName = "local-aws-sqs"
	scriptPath  = "internal/localsqs/server.mjs"
	// stderrLimit is how much of the server's stderr is kept for error
	// messages: enough for a Node.js stack trace.
	stderrLimit = 16 << 10
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Port is the loopback port to listen on. Zero, the default, lets the
	// kernel choose a free one, which is what parallel tests need.
	Port int
	// StartTimeout bounds how long Start waits for the server to answer;
	// zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// Dir is where the search for the repository root (the nearest
	// directory holding go.mod) starts; empty means the working directory,
	// which under `go test` is the package's directory.
	Dir string
	// Node is the Node.js executable, a path or a name looked up in PATH;
	// empty means "node".
	Node string
}

// Server is a running local-aws-sqs process. Its methods are safe for
// concurrent use.
type Server struct {
	endpoint string
	cmd      *exec.Cmd
	stderr   *tailBuffer
	// stdin is held open and never written: the server exits when it
	// closes, which the kernel does if this process dies without Close.
	stdin io.Closer

	// stopping is set before this package kills the process, so an exit
	// that happens without it is reported as a crash.
	stopping atomic.Bool
	exited   chan struct{}
	waitErr  error // valid once exited is closed
	crashed  bool  // valid once exited is closed

	closeOnce sync.Once
	closeErr  error
}

// Start runs local-aws-sqs on a loopback port and returns once its endpoint
// answers. The server lives until Close is called or ctx is done, whichever
// comes first; either way call Close to wait for the process to go.
//
// Start returns an error wrapping ErrNotInstalled when node_modules lacks the
// pinned local-aws-sqs or Node.js is missing. Any other error means the
// stand-in is installed but did not come up; it includes the server's stderr.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("starting local-aws-sqs: port %d is outside [0, 65535]", opts.Port)
	}
	if opts.StartTimeout < 0 {
		return nil, fmt.Errorf("starting local-aws-sqs: negative start timeout %s", opts.StartTimeout)
	}
	timeout := cmp.Or(opts.StartTimeout, DefaultStartTimeout)

	root, err := findRepoRoot(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkInstalled(root); err != nil {
		return nil, err
	}
	node, err := exec.LookPath(cmp.Or(opts.Node, "node"))
	if err != nil {
		return nil, fmt.Errorf("%w: looking for Node.js (install Node.js 18 or newer, then run `npm ci` in %s): %w", ErrNotInstalled, root, err)
	}

	s := &Server{
		stderr: &tailBuffer{limit: stderrLimit},
		exited: make(chan struct{}),
	}
	ready := &firstLine{lines: make(chan string, 1)}
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, filepath.FromSlash(scriptPath)),
		"--port", strconv.Itoa(opts.Port), "--exit-with-stdin")
	cmd.Dir = root
	cmd.Env = serverEnv(os.Environ())
	cmd.Stdout = ready
	cmd.Stderr = s.stderr
	setProcessGroup(cmd)
	cmd.Cancel = func() error {
		s.stopping.Store(true)
		return killProcessGroup(cmd)
	}
	// Bounds Wait when something else inherited the output pipes.
	cmd.WaitDelay = 5 * time.Second
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("starting local-aws-sqs: creating stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting local-aws-sqs with %s: %w", node, err)
	}
	s.cmd = cmd
	go func() {
		err := cmd.Wait()
		s.waitErr = err
		s.crashed = !s.stopping.Load()
		close(s.exited)
	}()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var line string
	select {
	case line = <-ready.lines:
	case <-s.exited:
		return nil, s.startFailure(fmt.Errorf("server exited before it was ready: %w", s.waitErr))
	case <-deadline.C:
		return nil, s.startFailure(fmt.Errorf("server printed no ready line within %s", timeout))
	case <-ctx.Done():
		return nil, s.startFailure(ctx.Err())
	}

	var announced struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.Unmarshal([]byte(line), &announced); err != nil || announced.Endpoint == "" {
		return nil, s.startFailure(fmt.Errorf("unexpected ready line %q", line))
	}
	s.endpoint = announced.Endpoint

	if err := waitAnswering(ctx, s.endpoint, deadline.C, s.exited); err != nil {
		return nil, s.startFailure(err)
	}
	return s, nil
}

// Endpoint returns the server's base URL, http://127.0.0.1:PORT, for an SDK's
// BaseEndpoint or AWS_ENDPOINT_URL_SQS.
func (s *Server) Endpoint() string {
	return s.endpoint
}

// Close stops the server (its whole process group) and waits for it to exit.
// It returns an error only when the server had exited on its own before, that
// is crashed, with its stderr in the message. Calling Close again returns the
// same result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		if s.crashed {
			s.closeErr = fmt.Errorf("local-aws-sqs at %s exited before Close: %w%s", s.endpoint, s.waitErr, s.stderrSuffix())
		}
	})
	return s.closeErr
}

// stop kills the process group unless the process is already gone, and
// waits for the process to be reaped.
func (s *Server) stop() {
	s.stopping.Store(true)
	select {
	case <-s.exited:
	default:
		// An error here means the group is already gone; Wait tells the rest.
		_ = killProcessGroup(s.cmd)
	}
	<-s.exited
}

// startFailure stops a server that did not come up and describes why.
func (s *Server) startFailure(cause error) error {
	s.stop()
	return fmt.Errorf("starting local-aws-sqs: %w%s", cause, s.stderrSuffix())
}

func (s *Server) stderrSuffix() string {
	text := strings.TrimSpace(s.stderr.String())
	if text == "" {
		return " (stderr was empty)"
	}
	return "; stderr:\n" + text
}

// waitAnswering polls the endpoint with a ListQueues call until it answers
// 200, the deadline fires, the process exits, or ctx is done. The ready line
// is printed from the listen callback, so the first poll normally succeeds;
// polling keeps Start honest if that ever changes.
func waitAnswering(ctx context.Context, endpoint string, deadline <-chan time.Time, exited <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	var last error
	for {
		last = listQueues(ctx, client, endpoint)
		if last == nil {
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			return fmt.Errorf("endpoint %s did not answer: %w", endpoint, last)
		case <-exited:
			return fmt.Errorf("server exited while waiting for %s to answer: %w", endpoint, last)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func listQueues(ctx context.Context, client *http.Client, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return fmt.Errorf("building ListQueues request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("calling ListQueues: %w", err)
	}
	// A failed Close of a fully read body changes nothing about the answer.
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return fmt.Errorf("reading ListQueues response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ListQueues answered %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// serverEnv is the environment for the server: this process's, less
// NODE_EXTRA_CA_CERTS. The server makes no TLS connections, and loading a CA
// bundle at startup costs Node.js a noticeable part of its startup time.
func serverEnv(environ []string) []string {
	return slices.DeleteFunc(environ, func(kv string) bool {
		return strings.HasPrefix(kv, "NODE_EXTRA_CA_CERTS=")
	})
}

// findRepoRoot returns the nearest directory at or above dir (the working
// directory when empty) that holds go.mod.
func findRepoRoot(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("finding the repository root: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("finding the repository root: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("finding the repository root: no go.mod in %s or any parent", dir)
		}
		d = parent
	}
}

// checkInstalled reports ErrNotInstalled unless root's node_modules holds the
// local-aws-sqs version that root's package.json pins. A stale node_modules
// would otherwise fail tests in ways that do not point at `npm ci`.
func checkInstalled(root string) error {
	var pinned struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(filepath.Join(root, "package.json"), &pinned); err != nil {
		return fmt.Errorf("reading the pinned %s version: %w", packageName, err)
	}
	want := pinned.DevDependencies[packageName]
	if want == "" {
		return fmt.Errorf("reading the pinned %s version: %s has no devDependency %q", filepath.Join(root, "package.json"), packageName, packageName)
	}

	installedPath := filepath.Join(root, "node_modules", packageName, "package.json")
	var installed struct {
		Version string `json:"version"`
	}
	err := readJSON(installedPath, &installed)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s is missing; run `npm ci` in %s", ErrNotInstalled, filepath.Dir(installedPath), root)
	case err != nil:
		return fmt.Errorf("reading the installed %s version: %w", packageName, err)
	case installed.Version != want:
		return fmt.Errorf("%w: node_modules has %s %s but package.json pins %s; run `npm ci` in %s", ErrNotInstalled, packageName, installed.Version, want, root)
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// firstLine is the server's stdout: it hands over the first line (the ready
// line) and discards the rest, so the server never blocks on a full pipe.
type firstLine struct {
	mu    sync.Mutex
	buf   []byte
	done  bool
	lines chan string // buffered, receives at most one line
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.done = true
		w.lines <- string(w.buf[:i])
		w.buf = nil
	} else if len(w.buf) > 4<<10 {
		// Not a ready line; hand it over so Start can show it.
		w.done = true
		w.lines <- string(w.buf)
		w.buf = nil
	}
	return len(p), nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
