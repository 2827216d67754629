package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/lambdaemu"
	"github.com/gwtap/gwtap/internal/localsqs"
	"github.com/gwtap/gwtap/internal/samtemplate"
)

// errFunctionFailed means an invocation returned a function error; gwtap
// then exits non-zero, as `sam local invoke` does not but scripts want.
var errFunctionFailed = errors.New("function error")

const (
	queueType = "AWS::SQS::Queue"
	// localAccessKey and localSecretKey are the dummy credentials every
	// invoked function gets: the stand-ins accept anything, and a function
	// that reached real AWS by mistake would be refused.
	localAccessKey = "AKIDGWTAPLOCAL"
	localSecretKey = "gwtap-local-secret"
)

func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("invoke", "invoke [flags] FUNCTION [EVENT.json ...]\n\n"+
		"Runs a function's real bootstrap under a local Lambda Runtime API, as `sam local invoke -e`\n"+
		"does but without Docker. FUNCTION is a template logical id (IngestFunction) or a short\n"+
		"name (ingest, for functions/ingest). The bootstrap is built for this machine with the\n"+
		"Makefile's flags into bin/local/NAME/ (reused while newer than its sources). Its environment\n"+
		"comes from template.yaml with the parameters' defaults; queues it refers to are created,\n"+
		"with their redrive settings, on a local SQS (npm local-aws-sqs), and AWS_ENDPOINT_URL_SQS\n"+
		"and dummy credentials point it there.\n\n"+
		"Each EVENT file (or -e; '-' is stdin) may hold several JSON documents, as `gwtap events`\n"+
		"writes them; each is one invocation of the same, warm, environment. With no event the\n"+
		"function gets {}. The response goes to stdout, one line per invocation; the function's logs,\n"+
		"Lambda's REPORT line and what landed on the queues go to stderr. Exits non-zero when an\n"+
		"invocation fails.", stderr)
	var o invokeOptions
	var events, overrides multiFlag
	flags.Var(&events, "e", "event file, '-' for stdin; repeatable (same as an EVENT argument)")
	flags.Var(&events, "event", "same as -e")
	flags.StringVar(&o.template, "t", "", "SAM template (default template.yaml in the repository root)")
	flags.StringVar(&o.template, "template", "", "same as -t")
	flags.Var(&overrides, "parameter-overrides", "template parameters, as sam takes them: 'K=V K2=V2' or 'ParameterKey=K,ParameterValue=V ...'; repeatable")
	flags.StringVar(&o.envVarsFile, "env-vars", "", `JSON file of environment overrides, as sam's: {"IngestFunction": {"VAR": "value"}, "Parameters": {...}}`)
	flags.StringVar(&o.envVarsFile, "n", "", "same as -env-vars")
	flags.StringVar(&o.stackName, "stack-name", "", "stack name for ${AWS::StackName} (default samconfig.toml's stack_name, else gwtap)")
	flags.StringVar(&o.bootstrap, "bootstrap", "", "run this bootstrap instead of building one (for example .aws-sam/build/IngestFunction/bootstrap)")
	flags.StringVar(&o.buildDir, "build-dir", "", "where bootstraps are built (default bin/local in the repository root)")
	flags.BoolVar(&o.ignoreMemoryLimit, "no-memory-limit", false, "let the function grow past its MemorySize instead of failing with Runtime.OutOfMemory as Lambda would")
	help, positional, err := parseInterleaved(flags, args)
	if help || err != nil {
		return err
	}
	if len(positional) == 0 {
		return fmt.Errorf("%w: no FUNCTION given", ErrUsage)
	}
	o.function = positional[0]
	paths := append(slices.Clone([]string(events)), positional[1:]...)
	if o.overrides, err = parseParameterOverrides(overrides); err != nil {
		return err
	}
	payloads, err := readEvents(paths, os.Stdin)
	if err != nil {
		return err
	}
	o.notes = stderr

	s, err := newInvokeSession(ctx, o)
	if err != nil {
		return err
	}
	failed := 0
	var invokeErr error
	for _, payload := range payloads {
		res, queues, err := s.invoke(ctx, payload)
		if err != nil {
			invokeErr = err
			break
		}
		printInvocation(stdout, stderr, res, queues)
		if res.FunctionError != nil {
			failed++
		}
	}
	if err := s.Close(); err != nil && invokeErr == nil {
		invokeErr = err
	}
	s.printProcessStats(stderr)
	switch {
	case invokeErr != nil:
		return invokeErr
	case failed > 0:
		return fmt.Errorf("%w: %d of %s failed", errFunctionFailed, failed, plural(len(payloads), "invocation"))
	}
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, " ") }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// parseInterleaved parses flags anywhere among the positional arguments, as
// sam accepts `sam local invoke IngestFunction -e event.json`.
func parseInterleaved(fs *flag.FlagSet, args []string) (help bool, positional []string, err error) {
	for {
		if help, err := parse(fs, args); help || err != nil {
			return help, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return false, positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// invokeOptions configures an invokeSession.
type invokeOptions struct {
	// root is the repository root; empty means the nearest directory at or
	// above the working directory that holds go.mod.
	root              string
	template          string
	function          string
	overrides         map[string]string
	envVarsFile       string
	stackName         string
	bootstrap         string
	buildDir          string
	ignoreMemoryLimit bool
	// notes receives progress lines (building, queues); nil discards them.
	notes io.Writer
}

// localFunction is a template function as it will run locally.
type localFunction struct {
	logicalID, name string
	memoryMB        int
	timeout         time.Duration
	handler         string
	logFormat       string
	logLevel        string
	logGroup        string
	env             map[string]string
	// arch is the template's architecture (arm64 or x86_64).
	arch string
	// queueIDs are the queues the environment refers to.
	queueIDs []string
}

// localQueue is a template queue created on the local SQS.
type localQueue struct {
	logicalID, name, url, arn string
}

// queueDelta is what one invocation left on a queue.
type queueDelta struct {
	queue      localQueue
	referenced bool // the function's environment names the queue
	messages   int
	records    int // records in gwtap envelopes; 0 for other messages
	envelopes  int // messages that were gwtap envelopes
}

// invokeSession is one function in one local execution environment, with
// the stand-ins it needs.
type invokeSession struct {
	fn        localFunction
	bootstrap string
	sqs       *localsqs.Server
	client    *sqs.Client
	queues    []localQueue
	emu       *lambdaemu.Emulator
	notes     io.Writer
}

// newInvokeSession resolves the function from the template, starts the
// local SQS when it needs queues, builds its bootstrap and prepares the
// emulator. The caller must Close the session.
func newInvokeSession(ctx context.Context, o invokeOptions) (_ *invokeSession, err error) {
	notes := o.notes
	if notes == nil {
		notes = io.Discard
	}
	root := o.root
	if root == "" {
		if root, err = repoRoot(); err != nil {
			return nil, err
		}
	}
	tplPath := o.template
	if tplPath == "" {
		tplPath = filepath.Join(root, "template.yaml")
	}
	tpl, err := samtemplate.Load(tplPath)
	if err != nil {
		return nil, err
	}
	logicalID, name, err := findFunction(tpl, o.function, root)
	if err != nil {
		return nil, err
	}
	if err := checkParameters(tpl, o.overrides); err != nil {
		return nil, err
	}
	stack := o.stackName
	if stack == "" {
		stack = samconfigStackName(filepath.Join(root, "samconfig.toml"))
	}
	values := maps.Clone(o.overrides)
	if values == nil {
		values = map[string]string{}
	}
	values["AWS::StackName"] = stack
	values["AWS::Region"] = localsqs.Region
	values["AWS::AccountId"] = localsqs.AccountID
	values["AWS::Partition"] = "aws"
	values["AWS::URLSuffix"] = "amazonaws.com"
	addLogGroupNames(tpl, values)

	envOverrides, err := loadEnvVars(o.envVarsFile, logicalID)
	if err != nil {
		return nil, err
	}
	rawEnv, err := tpl.EnvVars(logicalID)
	if err != nil {
		return nil, err
	}
	s := &invokeSession{notes: notes}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	fn := localFunction{logicalID: logicalID, name: name}
	for k, v := range rawEnv {
		if _, over := envOverrides[k]; over {
			continue
		}
		for _, id := range referencedResources(v) {
			if r, ok := tpl.Resource(id); ok && r.Type == queueType && !slices.Contains(fn.queueIDs, id) {
				fn.queueIDs = append(fn.queueIDs, id)
			}
		}
	}
	slices.Sort(fn.queueIDs)

	attrs := map[string]string{}
	if len(fn.queueIDs) > 0 {
		if s.sqs, err = localsqs.Start(ctx, localsqs.Options{Dir: root}); err != nil {
			return nil, fmt.Errorf("%s needs queues: %w", logicalID, err)
		}
		if s.client, err = s.sqs.Client(ctx); err != nil {
			return nil, err
		}
		if s.queues, err = createTemplateQueues(ctx, tpl, s.client, values, attrs, stack); err != nil {
			return nil, err
		}
		var names []string
		for _, q := range s.queues {
			names = append(names, q.name+" ("+q.logicalID+")")
		}
		fmt.Fprintf(notes, "local SQS at %s with %s\n", s.sqs.Endpoint(), strings.Join(names, ", "))
	}

	fn.env = map[string]string{}
	for k, v := range rawEnv {
		if _, over := envOverrides[k]; over {
			continue
		}
		s, err := resolveString(tpl, v, values, attrs)
		if err != nil {
			return nil, fmt.Errorf("environment variable %s of %s: %w", k, logicalID, err)
		}
		fn.env[k] = s
	}
	maps.Copy(fn.env, envOverrides)
	if s.sqs != nil {
		fn.env["AWS_ENDPOINT_URL_SQS"] = s.sqs.Endpoint()
	}
	if err := fn.loadProperties(tpl, values); err != nil {
		return nil, err
	}
	s.fn = fn

	if s.bootstrap = o.bootstrap; s.bootstrap == "" {
		buildDir := o.buildDir
		if buildDir == "" {
			buildDir = filepath.Join(root, "bin", "local")
		}
		s.bootstrap = filepath.Join(buildDir, name, "bootstrap")
		built, err := lambdaemu.Build(ctx, lambdaemu.BuildOptions{Dir: root, Package: "./functions/" + name, Output: s.bootstrap})
		if err != nil {
			return nil, err
		}
		state := "up to date"
		if built {
			state = "built"
		}
		if deployed := map[string]string{"arm64": "arm64", "x86_64": "amd64"}[fn.arch]; deployed != "" && deployed != runtime.GOARCH {
			state += "; the template deploys " + fn.arch
		}
		fmt.Fprintf(notes, "bootstrap %s (%s/%s, %s)\n", relPath(s.bootstrap), runtime.GOOS, runtime.GOARCH, state)
	}
	s.emu, err = lambdaemu.New(lambdaemu.Config{
		Bootstrap: s.bootstrap, FunctionName: logicalID, MemoryMB: fn.memoryMB, Timeout: fn.timeout,
		Handler: fn.handler, Region: localsqs.Region, AccountID: localsqs.AccountID,
		LogFormat: fn.logFormat, LogLevel: fn.logLevel, LogGroup: fn.logGroup, Env: fn.env,
		Credentials:       lambdaemu.Credentials{AccessKeyID: localAccessKey, SecretAccessKey: localSecretKey},
		IgnoreMemoryLimit: o.ignoreMemoryLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", logicalID, err)
	}
	return s, nil
}

// invoke runs one invocation and reports what it left on the queues.
func (s *invokeSession) invoke(ctx context.Context, payload []byte) (lambdaemu.Result, []queueDelta, error) {
	res, err := s.emu.Invoke(ctx, payload)
	if err != nil {
		return res, nil, err
	}
	var deltas []queueDelta
	for _, q := range s.queues {
		d, err := drainQueue(ctx, s.client, q)
		if err != nil {
			return res, nil, err
		}
		d.referenced = slices.Contains(s.fn.queueIDs, q.logicalID)
		deltas = append(deltas, d)
	}
	return res, deltas, nil
}

// Close stops the function and the stand-ins.
func (s *invokeSession) Close() error {
	var errs []error
	if s.emu != nil {
		errs = append(errs, s.emu.Close())
	}
	if s.sqs != nil {
		errs = append(errs, s.sqs.Close())
	}
	return errors.Join(errs...)
}

// printProcessStats prints the figures issue #7 asks for: the bootstrap's
// peak memory and its time from start to the first /next.
func (s *invokeSession) printProcessStats(w io.Writer) {
	if s.emu == nil {
		return
	}
	st := s.emu.Stats()
	if st.ColdStarts == 0 {
		return
	}
	exit := fmt.Sprintf("ru_maxrss at exit (%s) %s", st.LastExit, mib(st.ExitMaxRSS))
	if st.SpawnerRSS > 0 && st.ExitMaxRSS <= st.SpawnerRSS {
		// Linux charges the spawner's peak to the child's ru_maxrss.
		exit += fmt.Sprintf(", which is gwtap's own peak when it started the process (%s), not the function's", mib(st.SpawnerRSS))
	}
	fmt.Fprintf(w, "process: %s; peak RSS %s (VmHWM); %s; first /next %.2f ms after start\n",
		plural(st.ColdStarts, "cold start"), mib(st.PeakRSS), exit, float64(st.FirstNext)/float64(time.Millisecond))
}

func mib(b int64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// printInvocation writes the response to stdout, and the logs framed as
// Lambda frames them, then the queues' contents, to stderr.
func printInvocation(stdout, stderr io.Writer, res lambdaemu.Result, queues []queueDelta) {
	fmt.Fprintf(stderr, "START RequestId: %s Version: $LATEST\n", res.RequestID)
	if len(res.Logs) > 0 {
		_, _ = stderr.Write(res.Logs)
		if !bytes.HasSuffix(res.Logs, []byte("\n")) {
			fmt.Fprintln(stderr)
		}
	}
	fmt.Fprintf(stderr, "END RequestId: %s\n%s\n", res.RequestID, res.Report())
	for _, d := range queues {
		if d.messages == 0 && !d.referenced {
			continue
		}
		fmt.Fprintf(stderr, "%s %s: %s", d.queue.logicalID, d.queue.name, plural(d.messages, "message"))
		if d.envelopes > 0 {
			fmt.Fprintf(stderr, " carrying %s", plural(d.records, "record"))
		}
		fmt.Fprintln(stderr)
	}
	if res.FunctionError != nil {
		fmt.Fprintf(stderr, "function error: %v\n", res.FunctionError)
	}
	_, _ = stdout.Write(bytes.TrimRight(res.Payload, "\n"))
	fmt.Fprintln(stdout)
}

// repoRoot returns the nearest directory at or above the working directory
// that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("finding the repository root: no go.mod in %s or above; run gwtap invoke inside the repository", dir)
		}
		d = parent
	}
}

func relPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

// findFunction maps FUNCTION to the template's logical id and the
// functions/NAME directory it is built from: IngestFunction and ingest both
// mean functions/ingest.
func findFunction(t *samtemplate.Template, arg, root string) (logicalID, name string, err error) {
	fns := t.ResourcesOfType(samtemplate.FunctionType)
	var known []string
	for _, r := range fns {
		short := shortName(r.LogicalID)
		known = append(known, r.LogicalID+" ("+short+")")
		if arg == r.LogicalID || strings.EqualFold(arg, short) {
			logicalID, name = r.LogicalID, short
		}
	}
	if logicalID == "" {
		if _, err := os.Stat(filepath.Join(root, "functions", arg)); err == nil {
			return "", "", fmt.Errorf("%w: functions/%s exists but the template has no function for it (want a %sFunction resource)", ErrUsage, arg, upperFirst(arg))
		}
		return "", "", fmt.Errorf("%w: no function %q in the template; it has %s", ErrUsage, arg, strings.Join(known, ", "))
	}
	if fi, err := os.Stat(filepath.Join(root, "functions", name)); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("%s is built from functions/%s, which does not exist", logicalID, name)
	}
	return logicalID, name, nil
}

// shortName is the functions/ directory of a logical id: IngestFunction → ingest.
func shortName(logicalID string) string {
	s := strings.TrimSuffix(logicalID, "Function")
	if s == "" {
		s = logicalID
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// loadProperties reads what Lambda needs from the function's properties,
// Globals merged in, with Lambda's defaults for what the template leaves out.
func (fn *localFunction) loadProperties(t *samtemplate.Template, values map[string]string) error {
	props, err := t.FunctionProperties(fn.logicalID)
	if err != nil {
		return err
	}
	get := func(path ...any) (any, error) {
		v, ok := samtemplate.Lookup(props, path...)
		if !ok {
			return nil, nil
		}
		r, err := t.Resolve(v, values)
		if err != nil {
			return nil, fmt.Errorf("%s %v: %w", fn.logicalID, path, err)
		}
		return r, nil
	}
	fn.memoryMB, fn.timeout, fn.handler = lambdaemu.DefaultMemoryMB, lambdaemu.DefaultTimeout, lambdaemu.DefaultHandler
	fn.logFormat = lambdaemu.DefaultLogFormat
	if v, err := get("MemorySize"); err != nil {
		return err
	} else if v != nil {
		if fn.memoryMB, err = toInt(v); err != nil {
			return fmt.Errorf("%s MemorySize: %w", fn.logicalID, err)
		}
	}
	if v, err := get("Timeout"); err != nil {
		return err
	} else if v != nil {
		secs, err := toInt(v)
		if err != nil {
			return fmt.Errorf("%s Timeout: %w", fn.logicalID, err)
		}
		fn.timeout = time.Duration(secs) * time.Second
	}
	for _, f := range []struct {
		dst  *string
		path []any
	}{
		{&fn.handler, []any{"Handler"}},
		{&fn.logFormat, []any{"LoggingConfig", "LogFormat"}},
		{&fn.logLevel, []any{"LoggingConfig", "ApplicationLogLevel"}},
		{&fn.logGroup, []any{"LoggingConfig", "LogGroup"}},
		{&fn.arch, []any{"Architectures", 0}},
	} {
		v, err := get(f.path...)
		if err != nil {
			return err
		}
		if s, ok := v.(string); ok {
			*f.dst = s
		}
	}
	return nil
}

func toInt(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case uint64:
		return int(n), nil
	case float64:
		if n == float64(int(n)) {
			return int(n), nil
		}
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

// parseParameterOverrides reads sam's --parameter-overrides forms,
// "K=V K2=V2" and "ParameterKey=K,ParameterValue=V ...", with quotes around
// values that hold spaces. It returns an error wrapping ErrUsage.
func parseParameterOverrides(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, arg := range args {
		tokens, err := splitQuoted(arg)
		if err != nil {
			return nil, fmt.Errorf("%w: --parameter-overrides: %v", ErrUsage, err)
		}
		for _, tok := range tokens {
			var k, v string
			if rest, ok := strings.CutPrefix(tok, "ParameterKey="); ok {
				key, value, found := strings.Cut(rest, ",ParameterValue=")
				if !found {
					return nil, fmt.Errorf("%w: --parameter-overrides: %q lacks ,ParameterValue=", ErrUsage, tok)
				}
				k, v = key, value
			} else {
				key, value, found := strings.Cut(tok, "=")
				if !found || key == "" {
					return nil, fmt.Errorf("%w: --parameter-overrides: %q is not KEY=VALUE", ErrUsage, tok)
				}
				k, v = key, value
			}
			out[k] = v
		}
	}
	return out, nil
}

// splitQuoted splits s at spaces outside single or double quotes, removing
// the quotes.
func splitQuoted(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		inTok bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inTok = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inTok {
				out = append(out, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteRune(r)
			inTok = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c in %q", quote, s)
	}
	if inTok {
		out = append(out, cur.String())
	}
	return out, nil
}

// checkParameters validates overrides against the template's declarations
// as CloudFormation would: known names, AllowedValues, AllowedPattern,
// MinValue and MaxValue. It returns an error wrapping ErrUsage listing every
// problem.
func checkParameters(t *samtemplate.Template, overrides map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[k]
		p, ok := t.Parameter(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: the template has no parameter %s", ErrUsage, k))
			continue
		}
		if allowed, ok := p["AllowedValues"].([]any); ok {
			match := false
			for _, a := range allowed {
				if fmt.Sprint(a) == v {
					match = true
				}
			}
			if !match {
				errs = append(errs, fmt.Errorf("%w: parameter %s=%q is not one of %v", ErrUsage, k, v, allowed))
			}
		}
		if pat, ok := p["AllowedPattern"].(string); ok {
			// CloudFormation matches the whole value.
			if re, err := regexp.Compile("^(?:" + pat + ")$"); err == nil && !re.MatchString(v) {
				errs = append(errs, fmt.Errorf("%w: parameter %s=%q does not match %s", ErrUsage, k, v, pat))
			}
		}
		if p["Type"] == "Number" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: parameter %s=%q is not a number", ErrUsage, k, v))
				continue
			}
			if lo, ok := toFloat(p["MinValue"]); ok && n < lo {
				errs = append(errs, fmt.Errorf("%w: parameter %s=%v is below its MinValue %v", ErrUsage, k, v, lo))
			}
			if hi, ok := toFloat(p["MaxValue"]); ok && n > hi {
				errs = append(errs, fmt.Errorf("%w: parameter %s=%v is above its MaxValue %v", ErrUsage, k, v, hi))
			}
		}
	}
	return errors.Join(errs...)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// samconfigStackName returns samconfig.toml's default stack_name (the
// global one, else deploy's), or "gwtap".
func samconfigStackName(path string) string {
	var cfg map[string]map[string]map[string]any
	if _, err := toml.DecodeFile(path, &cfg); err == nil {
		for _, cmd := range []string{"global", "deploy"} {
			if s, ok := cfg["default"][cmd]["parameters"].(map[string]any)["stack_name"].(string); ok && s != "" {
				return s
			}
		}
	}
	return "gwtap"
}

// loadEnvVars reads sam's --env-vars file: "Parameters" applies to every
// function, an entry named by the logical id to that function and wins.
// Unlike sam, variables the template does not declare are added too.
func loadEnvVars(path, logicalID string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading --env-vars: %w", err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%w: --env-vars %s must be a JSON object of objects, like {\"%s\": {\"VAR\": \"value\"}}: %v", ErrUsage, path, logicalID, err)
	}
	for _, section := range []string{"Parameters", logicalID} {
		for k, v := range doc[section] {
			switch v := v.(type) {
			case string:
				out[k] = v
			case nil:
				out[k] = ""
			default:
				out[k] = fmt.Sprint(v)
			}
		}
	}
	return out, nil
}

// addLogGroupNames gives Ref of each log group the name it will have.
func addLogGroupNames(t *samtemplate.Template, values map[string]string) {
	for _, r := range t.ResourcesOfType("AWS::Logs::LogGroup") {
		if v, ok := r.Properties["LogGroupName"]; ok {
			if name, err := t.Resolve(v, values); err == nil {
				if s, ok := name.(string); ok {
					values[r.LogicalID] = s
				}
			}
		}
	}
}

// referencedResources returns the logical ids v refers to with Ref,
// Fn::GetAtt or Fn::Sub.
func referencedResources(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, arg := range v {
				switch k {
				case "Ref":
					if s, ok := arg.(string); ok {
						out = append(out, s)
					}
				case "Fn::GetAtt":
					switch a := arg.(type) {
					case []any:
						if len(a) > 0 {
							if s, ok := a[0].(string); ok {
								out = append(out, s)
							}
						}
					case string:
						out = append(out, strings.SplitN(a, ".", 2)[0])
					}
				case "Fn::Sub":
					text := arg
					if a, ok := arg.([]any); ok && len(a) > 0 {
						text = a[0]
						if len(a) > 1 {
							walk(a[1])
						}
					}
					if s, ok := text.(string); ok {
						for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
							out = append(out, strings.SplitN(m[1], ".", 2)[0])
						}
					}
					continue
				}
				walk(arg)
			}
		case []any:
			for _, item := range v {
				walk(item)
			}
		}
	}
	walk(v)
	return out
}

// subVariable matches ${Name} and ${Name.Attribute} in Fn::Sub, not ${!Literal}.
var subVariable = regexp.MustCompile(`\$\{([A-Za-z0-9:]+(?:\.[A-Za-z0-9.]+)?)\}`)

// substituteAttributes replaces Fn::GetAtt of known attributes (keys like
// "TrafficQueue.Arn") with their values, and ${TrafficQueue.Arn} in Fn::Sub
// strings, which Resolve leaves alone because they exist only after a
// deployment.
func substituteAttributes(v any, attrs map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if arg, ok := v["Fn::GetAtt"]; ok {
				key := ""
				switch a := arg.(type) {
				case []any:
					if len(a) == 2 {
						key = fmt.Sprint(a[0]) + "." + fmt.Sprint(a[1])
					}
				case string:
					key = a
				}
				if s, ok := attrs[key]; ok {
					return s
				}
				return v
			}
			if arg, ok := v["Fn::Sub"]; ok {
				switch a := arg.(type) {
				case string:
					return map[string]any{"Fn::Sub": subAttrs(a, attrs)}
				case []any:
					if len(a) == 2 {
						if s, ok := a[0].(string); ok {
							return map[string]any{"Fn::Sub": []any{subAttrs(s, attrs), substituteAttributes(a[1], attrs)}}
						}
					}
				}
				return v
			}
		}
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = substituteAttributes(item, attrs)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = substituteAttributes(item, attrs)
		}
		return out
	}
	return v
}

func subAttrs(s string, attrs map[string]string) string {
	return subVariable.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := attrs[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// resolveString resolves a template value to the string Lambda would see.
func resolveString(t *samtemplate.Template, v any, values, attrs map[string]string) (string, error) {
	r, err := t.Resolve(substituteAttributes(v, attrs), values)
	if err != nil {
		if strings.Contains(err.Error(), "has no value and no default") {
			return "", fmt.Errorf("%w (give it with --parameter-overrides NAME=VALUE)", err)
		}
		return "", err
	}
	switch r := r.(type) {
	case string:
		return r, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(r), nil
	case nil:
		return "", nil
	}
	b, _ := json.Marshal(r)
	return "", fmt.Errorf("%s cannot be resolved locally; set it with --env-vars", b)
}

// createTemplateQueues creates every queue of the template (whose
// condition holds) on the local SQS, dead-letter targets first, with the
// attributes the template gives them, and records each queue's URL in
// values (its Ref) and its Arn, QueueName and QueueUrl in attrs.
func createTemplateQueues(ctx context.Context, t *samtemplate.Template, client *sqs.Client, values, attrs map[string]string, stack string) ([]localQueue, error) {
	pending := map[string]samtemplate.Resource{}
	for _, r := range t.ResourcesOfType(queueType) {
		if r.Condition != "" {
			holds, err := t.EvalCondition(r.Condition, values)
			if err != nil {
				return nil, fmt.Errorf("queue %s: %w", r.LogicalID, err)
			}
			if !holds {
				continue
			}
		}
		pending[r.LogicalID] = r
	}
	var created []localQueue
	for len(pending) > 0 {
		progress := false
		for _, id := range slices.Sorted(maps.Keys(pending)) {
			r := pending[id]
			ready := true
			for _, dep := range referencedResources(r.Properties) {
				if _, waiting := pending[dep]; waiting && dep != id {
					ready = false
				}
			}
			if !ready {
				continue
			}
			q, err := createQueue(ctx, t, client, r, values, attrs, stack)
			if err != nil {
				return nil, err
			}
			created = append(created, q)
			delete(pending, id)
			progress = true
		}
		if !progress {
			return nil, fmt.Errorf("the queues %v refer to each other in a cycle", slices.Sorted(maps.Keys(pending)))
		}
	}
	return created, nil
}

// queueIgnored are queue properties that are not queue attributes, or that
// name AWS resources (KMS keys) the local SQS cannot have.
var queueIgnored = []string{"QueueName", "Tags", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"}

func createQueue(ctx context.Context, t *samtemplate.Template, client *sqs.Client, r samtemplate.Resource, values, attrs map[string]string, stack string) (localQueue, error) {
	resolved, err := t.Resolve(substituteAttributes(r.Properties, attrs), values)
	if err != nil {
		return localQueue{}, fmt.Errorf("queue %s: %w", r.LogicalID, err)
	}
	props, _ := resolved.(map[string]any)
	name, _ := props["QueueName"].(string)
	if name == "" {
		// CloudFormation makes STACK-ID-RANDOM; without the random part
		// the names are stable between runs.
		name = stack + "-" + r.LogicalID
		if len(name) > 75 {
			name = name[:75]
		}
		if fifo, _ := props["FifoQueue"].(bool); fifo {
			name += ".fifo"
		}
	}
	queueAttrs := map[string]string{}
	for k, v := range props {
		if slices.Contains(queueIgnored, k) {
			continue
		}
		switch v := v.(type) {
		case string:
			queueAttrs[k] = v
		case map[string]any, []any:
			if hasUnresolved(v) {
				b, _ := json.Marshal(v)
				return localQueue{}, fmt.Errorf("queue %s: %s %s cannot be resolved locally", r.LogicalID, k, b)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return localQueue{}, fmt.Errorf("queue %s: encoding %s: %w", r.LogicalID, k, err)
			}
			queueAttrs[k] = string(b)
		default:
			queueAttrs[k] = fmt.Sprint(v)
		}
	}
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: queueAttrs})
	if err != nil {
		return localQueue{}, fmt.Errorf("creating queue %s (%s): %w", name, r.LogicalID, err)
	}
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return localQueue{}, fmt.Errorf("getting the ARN of queue %s: %w", name, err)
	}
	q := localQueue{logicalID: r.LogicalID, name: name, url: aws.ToString(out.QueueUrl), arn: got.Attributes[string(types.QueueAttributeNameQueueArn)]}
	values[q.logicalID] = q.url
	attrs[q.logicalID+".Arn"] = q.arn
	attrs[q.logicalID+".QueueName"] = q.name
	attrs[q.logicalID+".QueueUrl"] = q.url
	return q, nil
}

// hasUnresolved reports whether v still holds an intrinsic function.
func hasUnresolved(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") || hasUnresolved(item) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, hasUnresolved)
	}
	return false
}

// drainQueue receives and deletes everything on q, counting messages and,
// in gwtap envelopes, records; it opens each envelope, so a corrupt one is
// an error rather than a count.
func drainQueue(ctx context.Context, client *sqs.Client, q localQueue) (queueDelta, error) {
	d := queueDelta{queue: q}
	var opener *envelope.Opener
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.url), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return d, fmt.Errorf("receiving from %s: %w", q.name, err)
		}
		if len(out.Messages) == 0 {
			return d, nil
		}
		var del []types.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			d.messages++
			if attr, ok := m.MessageAttributes[envelope.AttrRecords]; ok {
				if opener == nil {
					if opener, err = envelope.NewOpener(0); err != nil {
						return d, err
					}
				}
				raw, err := opener.Open(aws.ToString(m.Body))
				if err != nil {
					return d, fmt.Errorf("message %s on %s: %w", aws.ToString(m.MessageId), q.name, err)
				}
				lines := len(envelope.Lines(raw))
				if n, _ := strconv.Atoi(aws.ToString(attr.StringValue)); n != lines {
					return d, fmt.Errorf("message %s on %s: attribute says %d records, body has %d", aws.ToString(m.MessageId), q.name, n, lines)
				}
				d.envelopes++
				d.records += lines
			}
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: del}); err != nil {
			return d, fmt.Errorf("deleting from %s: %w", q.name, err)
		}
	}
}

// readEvents reads the payloads of the event files: each file may hold
// several JSON documents in a row; '-' reads stdin (once). No file means
// one empty event, {}, as sam sends.
func readEvents(paths []string, stdin io.Reader) ([][]byte, error) {
	if len(paths) == 0 {
		return [][]byte{[]byte("{}")}, nil
	}
	var out [][]byte
	usedStdin := false
	for _, p := range paths {
		var r io.Reader
		name := p
		if p == "-" {
			if usedStdin {
				return nil, fmt.Errorf("%w: stdin ('-') given twice", ErrUsage)
			}
			usedStdin, r, name = true, stdin, "stdin"
		} else {
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: event file %s does not exist", ErrUsage, p)
			}
			if err != nil {
				return nil, fmt.Errorf("reading event: %w", err)
			}
			r = bytes.NewReader(b)
		}
		dec := json.NewDecoder(r)
		n := 0
		for {
			var doc json.RawMessage
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: event %d is not JSON: %v", ErrUsage, name, n+1, err)
			}
			out = append(out, doc)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: %s holds no event", ErrUsage, name)
		}
	}
	return out, nil
}
