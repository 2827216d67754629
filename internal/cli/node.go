package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/node"
	"github.com/gwtap/gwtap/internal/sqlite"
)

// Environment variables of `gwtap node`; flags override them.
const (
	EnvNodeAddr          = "GWTAP_NODE_ADDR"
	EnvNodeData          = "GWTAP_NODE_DATA"
	EnvNodeToken         = "GWTAP_NODE_TOKEN"
	EnvNodeMinRequests   = "GWTAP_NODE_MIN_REQUESTS"
	EnvNodeStatusClasses = "GWTAP_NODE_STATUS_CLASSES"
)

// Defaults of `gwtap node`.
const (
	defaultNodeAddr = "127.0.0.1:8080"
	defaultNodeData = ".gwtap/node.db"
	nodeDBName      = "node.db"
)

type nodeOptions struct {
	addr, data, token string
	disc              discovery.Config
	cfg               node.Config
	verbose           bool
}

// parseNodeFlags reads the options of `gwtap node` from args over the
// environment (getenv). It reports every bad value at once.
func parseNodeFlags(args []string, getenv func(string) string, stderr io.Writer) (nodeOptions, bool, error) {
	fs := newFlags("node", "node [flags]\n\nRuns the gwtap node: the collector endpoint (POST /v1/records) the forward function\n"+
		"delivers to, the API inventory (GET /v1/inventory, /v1/openapi.json) and its web page (/).\n"+
		"Records are kept in one SQLite file; the inventory is rebuilt from it at startup.\n"+
		"SIGINT or SIGTERM stops the node after the batches in flight are stored.", stderr)
	def := discovery.DefaultConfig()
	var problems []string
	envInt := func(name string, fallback int) int {
		v := getenv(name)
		if v == "" {
			return fallback
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("$%s=%q is not an integer", name, v))
			return fallback
		}
		return n
	}
	o := nodeOptions{disc: def}
	fs.StringVar(&o.addr, "addr", cmpOr(getenv(EnvNodeAddr), defaultNodeAddr), "listen address `host:port` ($"+EnvNodeAddr+")")
	fs.StringVar(&o.data, "data", cmpOr(getenv(EnvNodeData), defaultNodeData), "SQLite database `file`, or a directory to keep "+nodeDBName+" in ($"+EnvNodeData+")")
	// The token's default is not shown in -h: it is a secret.
	fs.StringVar(&o.token, "token", "", "bearer `token` POST /v1/records requires; empty accepts any sender (default $"+EnvNodeToken+")")
	fs.IntVar(&o.disc.MinRequests, "min-requests", envInt(EnvNodeMinRequests, def.MinRequests), "counted requests an endpoint needs before it is listed ($"+EnvNodeMinRequests+")")
	classes := fs.String("status-classes", cmpOr(getenv(EnvNodeStatusClasses), formatClasses(def.CountStatusClasses)), "status `classes` whose responses make endpoints exist, comma separated, e.g. 2xx,3xx ($"+EnvNodeStatusClasses+")")
	fs.DurationVar(&o.disc.MinSpan, "min-span", def.MinSpan, "also require an endpoint's counted requests to span more than this `duration` (0: no requirement)")
	skipMethods := fs.String("skip-methods", strings.Join(def.SkipMethods, ","), "`methods` ignored entirely, comma separated")
	fs.BoolVar(&o.disc.SkipLoopback, "skip-loopback", def.SkipLoopback, "ignore requests to loopback hosts (localhost, 127.0.0.0/8, ::1)")
	fs.IntVar(&o.disc.MaxExamples, "max-examples", def.MaxExamples, "example paths kept per endpoint")
	fs.DurationVar(&o.cfg.ReadTimeout, "read-timeout", node.DefaultReadTimeout, "longest time to read a request")
	fs.DurationVar(&o.cfg.WriteTimeout, "write-timeout", node.DefaultWriteTimeout, "longest time to handle a request and write its answer")
	fs.DurationVar(&o.cfg.ShutdownTimeout, "shutdown-timeout", node.DefaultShutdownTimeout, "longest wait for in-flight batches when stopping")
	fs.BoolVar(&o.verbose, "v", false, "log every batch (debug level)")
	if help, err := parse(fs, args); help || err != nil {
		return o, help, err
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	tokenSet := false
	fs.Visit(func(f *flag.Flag) { tokenSet = tokenSet || f.Name == "token" })
	if !tokenSet {
		o.token = getenv(EnvNodeToken)
	}
	cls, err := parseClasses(*classes)
	if err != nil {
		problems = append(problems, err.Error())
	}
	o.disc.CountStatusClasses = cls
	o.disc.SkipMethods = nil
	for m := range strings.SplitSeq(*skipMethods, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			o.disc.SkipMethods = append(o.disc.SkipMethods, m)
		}
	}
	if err := o.disc.Validate(); err != nil && cls != nil {
		problems = append(problems, err.Error())
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		problems = append(problems, fmt.Sprintf("-addr %q: %v", o.addr, err))
	}
	if o.data == "" {
		problems = append(problems, "-data is empty")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read-timeout", o.cfg.ReadTimeout}, {"write-timeout", o.cfg.WriteTimeout}, {"shutdown-timeout", o.cfg.ShutdownTimeout}} {
		if d.v <= 0 {
			problems = append(problems, fmt.Sprintf("-%s must be positive", d.name))
		}
	}
	if len(problems) > 0 {
		return o, false, fmt.Errorf("%w: %s", ErrUsage, strings.Join(problems, "; "))
	}
	o.cfg.Token = o.token
	return o, false, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseClasses reads "2xx,3xx" (or "2,3") as status classes.
func parseClasses(s string) ([]int, error) {
	var out []int
	for c := range strings.SplitSeq(s, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		d := strings.TrimSuffix(c, "xx")
		if len(d) != 1 || d[0] < '1' || d[0] > '5' {
			return nil, fmt.Errorf("-status-classes: %q is not a status class (1xx to 5xx)", c)
		}
		out = append(out, int(d[0]-'0'))
	}
	if len(out) == 0 {
		return nil, errors.New("-status-classes is empty")
	}
	return out, nil
}

func formatClasses(cls []int) string {
	parts := make([]string, len(cls))
	for i, c := range cls {
		parts[i] = strconv.Itoa(c) + "xx"
	}
	return strings.Join(parts, ",")
}

// dbPath resolves -data: a directory (existing, or named with a trailing
// separator) holds node.db; anything else is the database file.
func dbPath(data string) string {
	if strings.HasSuffix(data, "/") || strings.HasSuffix(data, string(filepath.Separator)) {
		return filepath.Join(data, nodeDBName)
	}
	if fi, err := os.Stat(data); err == nil && fi.IsDir() {
		return filepath.Join(data, nodeDBName)
	}
	return data
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

// runNode runs the node until ctx ends (SIGINT, SIGTERM).
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, help, err := parseNodeFlags(args, os.Getenv, stderr)
	if help || err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	path := dbPath(o.data)
	store, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return err
	}
	o.cfg.Version = buildVersion()
	o.cfg.Logger = log
	n, err := node.New(o.cfg, store, discovery.New(o.disc))
	if err != nil {
		return errors.Join(err, store.Close())
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listening on %s: %w", o.addr, err), store.Close())
	}
	count, err := store.Count(ctx)
	if err != nil {
		return errors.Join(err, ln.Close(), store.Close())
	}
	fmt.Fprintf(stdout, "gwtap node on http://%s/ (store %s, %s)\n", ln.Addr(), path, plural(int(count), "record"))
	if o.token == "" {
		fmt.Fprintln(stdout, "no -token: POST /v1/records accepts any sender")
	}
	runErr := n.Run(ctx, ln)
	if err := store.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	fmt.Fprintln(stdout, "gwtap node stopped")
	return runErr
}
