package replay

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/ingest"
)

// Environment variables read by LoadConfig, besides the node's (package
// collector) and, when re-ingest is configured, ingest's.
const (
	EnvDLQURL           = "GWTAP_DLQ_URL"
	EnvTrafficQueueURL  = "GWTAP_QUEUE_URL"
	EnvIngestFailureURL = "GWTAP_INGEST_FAILURE_QUEUE_URL"
	EnvMaxReplays       = "GWTAP_REPLAY_MAX_REPLAYS"
	EnvMaxAge           = "GWTAP_REPLAY_MAX_AGE"
	EnvRate             = "GWTAP_REPLAY_RATE"
	EnvNamespace        = "GWTAP_METRICS_NAMESPACE"
	EnvFunctionName     = "AWS_LAMBDA_FUNCTION_NAME"
)

// Defaults of the replay limits.
const (
	// DefaultMaxReplays is how many times a message may be re-driven before
	// it is parked.
	DefaultMaxReplays = 3
	// DefaultRate is the re-drive rate in DLQ messages per second. A message
	// carries thousands of records, so this is tens of thousands of records
	// a second: well within a node's intake, and gentle on a node that just
	// recovered.
	DefaultRate = 10
	// DefaultReceiveWait is the long-poll wait of each receive: SQS's short
	// polling may answer "empty" for a small queue that is not.
	DefaultReceiveWait = time.Second
	// DefaultReceiveVisibility hides a received message while it is being
	// copied; if the process dies, the message is back after this long.
	DefaultReceiveVisibility = time.Minute
)

// Queues are the URLs of the queues replay works on.
type Queues struct {
	// DLQ is the dead-letter queue re-driven from; required.
	DLQ string
	// Traffic is the queue re-driven to; required.
	Traffic string
	// IngestFailure is ingest's OnFailure destination; empty disables
	// re-ingest.
	IngestFailure string
}

// Limits bound a re-drive; RedriveOptions may override them per call.
type Limits struct {
	// MaxReplays parks a message whose gwtap-replay-count has reached it.
	MaxReplays int
	// MaxAge parks a message that first failed longer ago; 0 means no limit.
	MaxAge time.Duration
	// Rate is the default re-drive rate, in DLQ messages per second.
	Rate float64
}

// Config is the replay function's configuration. The CLI fills one by hand.
type Config struct {
	Queues Queues
	Limits Limits
	// Node is how to reach the node for the health probe (no token is sent:
	// the protocol's /healthz needs none).
	Node collector.Config
	// Ingest configures the ingest handler re-ingest runs; set when
	// Queues.IngestFailure is.
	Ingest ingest.Config
	// ReceiveWait is each receive's long-poll wait (0 polls short).
	ReceiveWait time.Duration
	// ReceiveVisibility is how long a received message stays hidden while
	// it is copied; at least a second.
	ReceiveVisibility time.Duration
	// Namespace and FunctionName name the EMF metrics.
	Namespace    string
	FunctionName string
}

// LoadConfig reads and validates the replay function's configuration from
// getenv (os.Getenv in production). It reports every problem at once, the
// node's and ingest's included, joined.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	flatten := func(err error) {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			errs = append(errs, joined.Unwrap()...)
		} else if err != nil {
			errs = append(errs, err)
		}
	}
	node, err := collector.LoadConfig(getenv)
	flatten(err)
	c := Config{
		Queues: Queues{
			DLQ:           strings.TrimSpace(getenv(EnvDLQURL)),
			Traffic:       strings.TrimSpace(getenv(EnvTrafficQueueURL)),
			IngestFailure: strings.TrimSpace(getenv(EnvIngestFailureURL)),
		},
		Node:              node,
		ReceiveWait:       DefaultReceiveWait,
		ReceiveVisibility: DefaultReceiveVisibility,
		Namespace:         strings.TrimSpace(getenv(EnvNamespace)),
		FunctionName:      getenv(EnvFunctionName),
	}
	if c.Namespace == "" {
		c.Namespace = "gwtap"
	}
	for _, q := range []struct {
		env, value, what string
		required         bool
	}{
		{EnvDLQURL, c.Queues.DLQ, "the dead-letter queue URL", true},
		{EnvTrafficQueueURL, c.Queues.Traffic, "the traffic queue URL", true},
		{EnvIngestFailureURL, c.Queues.IngestFailure, "the ingest failure queue URL", false},
	} {
		if err := CheckQueueURL(q.value); err != nil && (q.required || q.value != "") {
			errs = append(errs, fmt.Errorf("%s (%s): %w", q.env, q.what, err))
		}
	}
	if c.Queues.IngestFailure != "" {
		ic, err := ingest.LoadConfig(getenv)
		flatten(err)
		c.Ingest = ic
	}

	c.Limits.MaxReplays = DefaultMaxReplays
	if s := strings.TrimSpace(getenv(EnvMaxReplays)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("%s=%q must be an integer in [1, 1000]", EnvMaxReplays, s))
		} else {
			c.Limits.MaxReplays = n
		}
	}
	if s := strings.TrimSpace(getenv(EnvMaxAge)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s=%q must be a duration such as 168h (0 or empty: no limit)", EnvMaxAge, s))
		} else {
			c.Limits.MaxAge = d
		}
	}
	c.Limits.Rate = DefaultRate
	if s := strings.TrimSpace(getenv(EnvRate)); s != "" {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || !(r >= 0.01 && r <= 10000) {
			errs = append(errs, fmt.Errorf("%s=%q must be a number of messages per second in [0.01, 10000]", EnvRate, s))
		} else {
			c.Limits.Rate = r
		}
	}
	return c, errors.Join(errs...)
}

// CheckQueueURL returns an error unless u looks like an SQS queue URL
// (http or https, a host and a path).
func CheckQueueURL(u string) error {
	if u == "" {
		return errors.New("is required")
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || strings.Trim(p.Path, "/") == "" {
		return fmt.Errorf("%q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", u)
	}
	return nil
}

// validate checks a Config given to New.
func (c Config) validate() error {
	var errs []error
	if err := CheckQueueURL(c.Queues.DLQ); err != nil {
		errs = append(errs, fmt.Errorf("dead-letter queue URL: %w", err))
	}
	if err := CheckQueueURL(c.Queues.Traffic); err != nil {
		errs = append(errs, fmt.Errorf("traffic queue URL: %w", err))
	}
	if c.Limits.MaxReplays < 1 {
		errs = append(errs, fmt.Errorf("replay limit %d: must be at least 1", c.Limits.MaxReplays))
	}
	if c.Limits.MaxAge < 0 || c.Limits.Rate < 0 || c.ReceiveWait < 0 || c.ReceiveWait > 20*time.Second {
		errs = append(errs, errors.New("negative limits, or a receive wait outside [0, 20s]"))
	}
	if c.ReceiveVisibility < time.Second || c.ReceiveVisibility > maxVisibility {
		errs = append(errs, fmt.Errorf("receive visibility %s outside [1s, 12h]", c.ReceiveVisibility))
	}
	return errors.Join(errs...)
}
