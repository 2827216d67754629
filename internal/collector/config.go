package collector

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gwtap/gwtap/internal/backoff"
	"github.com/gwtap/gwtap/internal/envconf"
)

// Environment variables read by LoadConfig. The first three keep the vendor
// seed's names.
const (
	EnvNodeURL          = "X_NODE_URL"
	EnvNodeScheme       = "X_NODE_SCHEME"
	EnvAppID            = "X_WALLARM_APPLICATION_ID"
	EnvToken            = "GWTAP_NODE_TOKEN"
	EnvTokenSecretARN   = "GWTAP_NODE_TOKEN_SECRET_ARN"
	EnvTokenParameter   = "GWTAP_NODE_TOKEN_PARAMETER"
	EnvCAFile           = "GWTAP_NODE_CA_FILE"
	EnvConnectTimeout   = "GWTAP_NODE_CONNECT_TIMEOUT"
	EnvTimeout          = "GWTAP_NODE_TIMEOUT"
	EnvAttempts         = "GWTAP_NODE_ATTEMPTS"
	EnvMaxWait          = "GWTAP_NODE_MAX_WAIT"
	EnvBreakerThreshold = "GWTAP_NODE_BREAKER_THRESHOLD"
)

// Defaults for the optional settings.
const (
	DefaultScheme           = "https"
	DefaultConnectTimeout   = 3 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultAttempts         = 4
	DefaultBreakerThreshold = 5
)

// Secret is a credential. It formats and logs as [redacted], so printing a
// Config or passing it to slog cannot leak the token.
type Secret string

// String returns "[redacted]" unless the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Config is how to reach the node and how hard to try.
type Config struct {
	// Scheme is http or https (X_NODE_SCHEME).
	Scheme string
	// Host is host[:port] (X_NODE_URL), without scheme or path.
	Host string
	// AppID is the application id sent in protocol.HeaderApplicationID.
	AppID string
	// Token is a bearer token given in plain (GWTAP_NODE_TOKEN), for local
	// use. At most one of Token, TokenSecretARN and TokenParameter is set;
	// none means the node requires no token.
	Token Secret
	// TokenSecretARN names a Secrets Manager secret holding the token.
	TokenSecretARN string
	// TokenParameter names an SSM Parameter Store SecureString holding it.
	TokenParameter string
	// CAFile is a PEM bundle that replaces the system roots for verifying
	// the node's certificate; empty uses the system roots. Verification
	// itself cannot be turned off.
	CAFile string
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds one attempt, from sending the request to reading the
	// whole answer.
	Timeout time.Duration
	// Attempts is how many times one batch is posted before a transient
	// failure is left to SQS redelivery.
	Attempts int
	// Retry is the wait schedule between attempts; Retry.Max also caps
	// Retry-After. LoadConfig sets backoff.Default, with Max from
	// GWTAP_NODE_MAX_WAIT.
	Retry backoff.Policy
	// BreakerThreshold is how many transient failures in a row within one
	// Session open its circuit breaker.
	BreakerThreshold int
}

// BaseURL returns scheme://host.
func (c Config) BaseURL() string { return c.Scheme + "://" + c.Host }

// LoadConfig reads and validates the node settings from getenv (os.Getenv in
// production). It reports every problem at once, joined.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := Config{
		Scheme:         strings.ToLower(strings.TrimSpace(getenv(EnvNodeScheme))),
		Host:           strings.TrimSpace(getenv(EnvNodeURL)),
		AppID:          strings.TrimSpace(getenv(EnvAppID)),
		Token:          Secret(strings.TrimSpace(getenv(EnvToken))),
		TokenSecretARN: strings.TrimSpace(getenv(EnvTokenSecretARN)),
		TokenParameter: strings.TrimSpace(getenv(EnvTokenParameter)),
		CAFile:         strings.TrimSpace(getenv(EnvCAFile)),
		Retry:          backoff.Default,
	}
	if c.Scheme == "" {
		c.Scheme = DefaultScheme
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		bad("%s=%q must be http or https", EnvNodeScheme, c.Scheme)
	}
	if c.Host == "" {
		bad("%s is required (the node's host[:port], e.g. node.example.com or 192.0.2.1:5050)", EnvNodeURL)
	} else if err := checkHost(c.Host); err != nil {
		bad("%s=%q: %v", EnvNodeURL, c.Host, err)
	}
	if c.AppID == "" {
		bad("%s is required (the application id, e.g. -1)", EnvAppID)
	} else if _, err := strconv.ParseInt(c.AppID, 10, 64); err != nil {
		bad("%s=%q must be an integer application id", EnvAppID, c.AppID)
	}

	var sources []string
	for name, v := range map[string]string{EnvToken: string(c.Token), EnvTokenSecretARN: c.TokenSecretARN, EnvTokenParameter: c.TokenParameter} {
		if v != "" {
			sources = append(sources, name)
		}
	}
	if len(sources) > 1 {
		bad("set at most one of %s, %s and %s", EnvToken, EnvTokenSecretARN, EnvTokenParameter)
	}
	if c.Token != "" {
		if err := checkToken(c.Token); err != nil {
			bad("%s: %v", EnvToken, err)
		}
	}
	if c.TokenSecretARN != "" && !isARN(c.TokenSecretARN, "secretsmanager") {
		bad("%s=%q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)", EnvTokenSecretARN, c.TokenSecretARN)
	}
	if p := c.TokenParameter; p != "" && !isARN(p, "ssm") && strings.ContainsAny(p, " \t\n") {
		bad("%s=%q is not a parameter name or ARN", EnvTokenParameter, p)
	}
	if c.CAFile != "" && c.Scheme != "https" {
		bad("%s is set but %s is %s: a CA bundle only makes sense with https", EnvCAFile, EnvNodeScheme, c.Scheme)
	}

	var problems envconf.Problems
	duration := func(name string, def, lo, hi time.Duration) time.Duration {
		return envconf.Duration(getenv, &problems, name, def, lo, hi)
	}
	intVar := func(name string, def, lo, hi int) int { return envconf.Int(getenv, &problems, name, def, lo, hi) }
	c.ConnectTimeout = duration(EnvConnectTimeout, DefaultConnectTimeout, 100*time.Millisecond, time.Minute)
	c.Timeout = duration(EnvTimeout, DefaultTimeout, 100*time.Millisecond, 15*time.Minute)
	c.Retry.Max = duration(EnvMaxWait, backoff.Default.Max, 10*time.Millisecond, 5*time.Minute)
	c.Attempts = intVar(EnvAttempts, DefaultAttempts, 1, 20)
	c.BreakerThreshold = intVar(EnvBreakerThreshold, DefaultBreakerThreshold, 1, 1000)
	return c, errors.Join(append(errs, problems...)...)
}

// checkHost accepts host or host:port (an IPv6 host in brackets), the form
// of the seed's X_NODE_URL, and nothing with a scheme, path or credentials.
func checkHost(h string) error {
	if strings.Contains(h, "://") {
		return errors.New("give host[:port] without a scheme; the scheme is " + EnvNodeScheme)
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be host[:port] with no path, query or credentials")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not in [1, 65535]", port)
		}
	} else if strings.HasSuffix(h, ":") {
		return errors.New("empty port")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("empty host")
	}
	if strings.HasPrefix(h, "[") && net.ParseIP(host) == nil {
		return fmt.Errorf("%q is not an IPv6 address", host)
	}
	return nil
}

// checkToken refuses what cannot travel in an Authorization header: a token
// with spaces or control characters would corrupt the request (or smuggle a
// header into it).
func checkToken(t Secret) error {
	for _, r := range string(t) {
		if r <= ' ' || r >= 0x7f {
			return errors.New("the token must be printable ASCII without spaces")
		}
	}
	return nil
}

// isARN reports whether s looks like an ARN of the given service.
func isARN(s, service string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] == service && parts[5] != ""
}
