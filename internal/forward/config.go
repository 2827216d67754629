package forward

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/envconf"
	"github.com/gwtap/gwtap/internal/envelope"
)

// Environment variables read by LoadConfig, besides collector's.
const (
	EnvDLQURL          = "GWTAP_DLQ_URL"
	EnvMaxMessageBytes = "GWTAP_MAX_MESSAGE_BYTES"
	EnvConcurrency     = "GWTAP_FORWARD_CONCURRENCY"
	EnvNamespace       = "GWTAP_METRICS_NAMESPACE"
	EnvFunctionName    = "AWS_LAMBDA_FUNCTION_NAME"
)

// MinMessageBytes is the smallest GWTAP_MAX_MESSAGE_BYTES: a dead-lettered
// envelope needs room for its records beside the failure attributes.
const MinMessageBytes = 4 << 10

// DefaultConcurrency is how many messages of one batch are posted at once.
const DefaultConcurrency = 4

// Config is the forward function's configuration.
type Config struct {
	// Node is how to reach the node (X_NODE_URL, X_NODE_SCHEME, the token, …).
	Node collector.Config
	// DLQURL is the dead-letter queue permanent failures are sent to.
	DLQURL string
	// MaxMessageBytes caps the envelopes re-packed for the DLQ, attributes
	// included; at most the DLQ's MaximumMessageSize.
	MaxMessageBytes int
	// Concurrency is how many messages are posted at once.
	Concurrency int
	// Namespace is the CloudWatch metrics namespace.
	Namespace string
	// FunctionName is the metrics dimension.
	FunctionName string
}

// LoadConfig reads and validates the configuration from getenv (os.Getenv in
// production). It reports every problem at once, the node settings' included,
// joined.
func LoadConfig(getenv func(string) string) (Config, error) {
	node, nodeErr := collector.LoadConfig(getenv)
	var errs []error
	// Flattened, so the caller sees one list of problems, not a nested one.
	var joined interface{ Unwrap() []error }
	if errors.As(nodeErr, &joined) {
		errs = append(errs, joined.Unwrap()...)
	} else if nodeErr != nil {
		errs = append(errs, nodeErr)
	}
	c := Config{
		Node:         node,
		DLQURL:       strings.TrimSpace(getenv(EnvDLQURL)),
		Namespace:    strings.TrimSpace(getenv(EnvNamespace)),
		FunctionName: getenv(EnvFunctionName),
	}
	if c.Namespace == "" {
		c.Namespace = "gwtap"
	}
	if c.DLQURL == "" {
		errs = append(errs, fmt.Errorf("%s is required (the dead-letter queue URL)", EnvDLQURL))
	} else if u, err := url.Parse(c.DLQURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s=%q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", EnvDLQURL, c.DLQURL))
	}
	var problems envconf.Problems
	intVar := func(name string, def, lo, hi int) int { return envconf.Int(getenv, &problems, name, def, lo, hi) }
	c.MaxMessageBytes = intVar(EnvMaxMessageBytes, envelope.DefaultMaxMessageBytes, MinMessageBytes, envelope.MaxMessageBytes)
	c.Concurrency = intVar(EnvConcurrency, DefaultConcurrency, 1, 64)
	return c, errors.Join(append(errs, problems...)...)
}
