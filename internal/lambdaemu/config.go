package lambdaemu

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidConfig is wrapped by every error New returns for a Config it
// rejects; the message lists each problem.
var ErrInvalidConfig = errors.New("invalid emulator configuration")

// Defaults for the zero fields of Config. They are Lambda's own defaults.
const (
	DefaultFunctionName  = "function"
	DefaultVersion       = "$LATEST"
	DefaultHandler       = "bootstrap"
	DefaultMemoryMB      = 128
	DefaultTimeout       = 3 * time.Second
	DefaultInitTimeout   = 10 * time.Second
	DefaultRegion        = "us-east-1"
	DefaultAccountID     = "123456789012"
	DefaultLogFormat     = "Text"
	DefaultLogLevel      = "INFO"
	DefaultShutdownGrace = 500 * time.Millisecond
	DefaultMaxLogBytes   = 16 << 20
)

// Lambda's limits on a function's configuration.
const (
	MinMemoryMB = 128
	MaxMemoryMB = 10240
	MaxTimeout  = 900 * time.Second
)

// Credentials are the AWS credentials the function gets in its environment,
// as Lambda passes the execution role's. Locally they are usually dummies
// that a stand-in accepts.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Config describes the function an Emulator runs. Only Bootstrap is
// required; every other zero field takes Lambda's default.
type Config struct {
	// Bootstrap is the executable to run, a custom runtime's bootstrap.
	Bootstrap string
	// Dir is the task root: the process's working directory and
	// LAMBDA_TASK_ROOT. Empty means the bootstrap's directory.
	Dir string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME and the last part of the
	// invoked function ARN.
	FunctionName string
	// Version is AWS_LAMBDA_FUNCTION_VERSION.
	Version string
	// Handler is _HANDLER.
	Handler string
	// MemoryMB is the memory size, 128 to 10240: AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	// and the limit past which the process is killed.
	MemoryMB int
	// Timeout is the function timeout, at most 15 minutes.
	Timeout time.Duration
	// InitTimeout bounds the init phase: from process start to its first
	// /next. Lambda allows 10 seconds.
	InitTimeout time.Duration
	// Region is AWS_REGION and AWS_DEFAULT_REGION, and part of the ARN.
	Region string
	// AccountID is part of the invoked function ARN.
	AccountID string
	// LogFormat is AWS_LAMBDA_LOG_FORMAT: Text or JSON.
	LogFormat string
	// LogLevel is AWS_LAMBDA_LOG_LEVEL, set only when LogFormat is JSON, as
	// Lambda does: TRACE, DEBUG, INFO, WARN, ERROR or FATAL.
	LogLevel string
	// LogGroup is AWS_LAMBDA_LOG_GROUP_NAME; empty means /aws/lambda/FunctionName.
	LogGroup string
	// Env holds the function's own environment variables. Lambda's reserved
	// names (AWS_REGION, AWS_LAMBDA_RUNTIME_API, _HANDLER, the credentials, …)
	// are rejected, as Lambda rejects them; TZ, LANG, PATH and the log
	// settings may be overridden.
	Env map[string]string
	// Credentials are exported as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN when set.
	Credentials Credentials
	// ShutdownGrace is how long a runtime that registered an extension gets
	// between SIGTERM and SIGKILL.
	ShutdownGrace time.Duration
	// IgnoreMemoryLimit keeps a process that grows past MemoryMB running;
	// its peak is still reported.
	IgnoreMemoryLimit bool
	// MaxLogBytes caps the logs kept for one invocation; the oldest part of
	// longer output is dropped, with a note saying how much.
	MaxLogBytes int
}

// reservedEnv are the variables Lambda sets itself and refuses in a
// function's configuration.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Dir == "" && c.Bootstrap != "" {
		c.Dir = filepath.Dir(c.Bootstrap)
	}
	c.FunctionName = cmp.Or(c.FunctionName, DefaultFunctionName)
	c.Version = cmp.Or(c.Version, DefaultVersion)
	c.Handler = cmp.Or(c.Handler, DefaultHandler)
	c.MemoryMB = cmp.Or(c.MemoryMB, DefaultMemoryMB)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.InitTimeout = cmp.Or(c.InitTimeout, DefaultInitTimeout)
	c.Region = cmp.Or(c.Region, DefaultRegion)
	c.AccountID = cmp.Or(c.AccountID, DefaultAccountID)
	c.LogFormat = cmp.Or(c.LogFormat, DefaultLogFormat)
	c.LogLevel = strings.ToUpper(cmp.Or(c.LogLevel, DefaultLogLevel))
	c.LogGroup = cmp.Or(c.LogGroup, "/aws/lambda/"+c.FunctionName)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, DefaultShutdownGrace)
	c.MaxLogBytes = cmp.Or(c.MaxLogBytes, DefaultMaxLogBytes)
	return c
}

// validate returns every problem with c (after withDefaults) at once, each
// wrapping ErrInvalidConfig.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
	}
	if c.Bootstrap == "" {
		bad("Bootstrap is required")
	} else if fi, err := os.Stat(c.Bootstrap); err != nil {
		bad("Bootstrap: %v", err)
	} else if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		bad("Bootstrap %s is not an executable file", c.Bootstrap)
	}
	if c.Dir != "" {
		if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
			bad("Dir %s is not a directory", c.Dir)
		}
	}
	if c.MemoryMB < MinMemoryMB || c.MemoryMB > MaxMemoryMB {
		bad("MemoryMB %d is outside [%d, %d]", c.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if c.Timeout <= 0 || c.Timeout > MaxTimeout {
		bad("Timeout %s is outside (0s, %s]", c.Timeout, MaxTimeout)
	}
	if c.InitTimeout <= 0 {
		bad("InitTimeout %s must be positive", c.InitTimeout)
	}
	if c.ShutdownGrace < 0 {
		bad("ShutdownGrace %s is negative", c.ShutdownGrace)
	}
	if c.MaxLogBytes < 0 {
		bad("MaxLogBytes %d is negative", c.MaxLogBytes)
	}
	if c.LogFormat != "Text" && c.LogFormat != "JSON" {
		bad("LogFormat %q must be Text or JSON", c.LogFormat)
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		bad("LogLevel %q must be one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	if strings.ContainsAny(c.FunctionName, ": /") {
		bad("FunctionName %q must not contain ':', '/' or spaces", c.FunctionName)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			bad("environment variable name %q is invalid", k)
		case slices.Contains(reservedEnv, k):
			bad("environment variable %s is reserved by Lambda", k)
		case strings.ContainsRune(c.Env[k], 0):
			bad("environment variable %s contains a NUL byte", k)
		}
	}
	return errors.Join(errs...)
}

// lambdaPath is PATH in Lambda's provided runtimes.
const lambdaPath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// environment returns the process environment without AWS_LAMBDA_RUNTIME_API,
// which depends on the process's own listener. Nothing is inherited from
// this process, as nothing is inherited in Lambda: a developer's AWS_PROFILE
// or HOME cannot change what the function does.
func (c Config) environment(logStream string) []string {
	env := map[string]string{
		"PATH":                  lambdaPath,
		"LANG":                  "en_US.UTF-8",
		"TZ":                    ":UTC",
		"LD_LIBRARY_PATH":       "/lib64:/usr/lib64:" + c.Dir + ":" + c.Dir + "/lib:/opt/lib",
		"AWS_LAMBDA_LOG_FORMAT": c.LogFormat,
	}
	if c.LogFormat == "JSON" {
		env["AWS_LAMBDA_LOG_LEVEL"] = c.LogLevel
	}
	for k, v := range c.Env {
		env[k] = v
	}
	reserved := map[string]string{
		"_HANDLER":                        c.Handler,
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     c.Version,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       c.LogGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      logStream,
		"LAMBDA_TASK_ROOT":                c.Dir,
		"LAMBDA_RUNTIME_DIR":              c.Dir,
	}
	if c.Credentials.AccessKeyID != "" {
		reserved["AWS_ACCESS_KEY_ID"] = c.Credentials.AccessKeyID
		reserved["AWS_SECRET_ACCESS_KEY"] = c.Credentials.SecretAccessKey
		if c.Credentials.SessionToken != "" {
			reserved["AWS_SESSION_TOKEN"] = c.Credentials.SessionToken
		}
	}
	for k, v := range reserved {
		env[k] = v
	}
	out := make([]string, 0, len(env)+1)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// functionARN is the unqualified ARN Lambda passes for $LATEST invocations.
func (c Config) functionARN() string {
	return "arn:aws:lambda:" + c.Region + ":" + c.AccountID + ":function:" + c.FunctionName
}
