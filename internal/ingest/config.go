package ingest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/envconf"
	"github.com/gwtap/gwtap/internal/envelope"
)

// Environment variables read by LoadConfig.
const (
	EnvAppID           = "X_WALLARM_APPLICATION_ID"
	EnvQueueURL        = "GWTAP_QUEUE_URL"
	EnvMaxMessageBytes = "GWTAP_MAX_MESSAGE_BYTES"
	EnvMaxDecompressed = "GWTAP_MAX_DECOMPRESSED_BYTES"
	EnvMaxLineBytes    = "GWTAP_MAX_LINE_BYTES"
	EnvNamespace       = "GWTAP_METRICS_NAMESPACE"
	EnvSendAttempts    = "GWTAP_SEND_ATTEMPTS"
	EnvFunctionName    = "AWS_LAMBDA_FUNCTION_NAME"
	EnvRedactSourceIP  = "GWTAP_REDACT_SOURCE_IP"
	EnvRedactUserAgent = "GWTAP_REDACT_USER_AGENT"
	EnvRedactKey       = "GWTAP_REDACT_KEY"
)

// Config is the ingest function's configuration.
type Config struct {
	// AppID is stamped on every record (X_WALLARM_APPLICATION_ID).
	AppID string
	// QueueURL is the traffic queue.
	QueueURL string
	// MaxMessageBytes is the SQS message size limit envelopes are packed to.
	MaxMessageBytes int
	// MaxDecompressedBytes caps a decompressed subscription payload.
	MaxDecompressedBytes int
	// MaxLineBytes caps one access-log line; longer lines are counted as unparsed.
	MaxLineBytes int
	// Namespace is the CloudWatch metrics namespace.
	Namespace string
	// SendAttempts is how often a message is offered to SQS before the
	// invocation fails (SDK retries come on top).
	SendAttempts int
	// FunctionName is the metrics dimension.
	FunctionName string
	// RedactSourceIP and RedactUserAgent say what happens to those fields
	// before records leave the account; RedactKey keys Hash.
	RedactSourceIP, RedactUserAgent Redaction
	RedactKey                       []byte
}

// LoadConfig reads and validates the configuration from getenv (os.Getenv in
// production). It reports every problem at once, joined.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	c := Config{
		AppID:        strings.TrimSpace(getenv(EnvAppID)),
		QueueURL:     strings.TrimSpace(getenv(EnvQueueURL)),
		Namespace:    strings.TrimSpace(getenv(EnvNamespace)),
		FunctionName: getenv(EnvFunctionName),
	}
	if c.Namespace == "" {
		c.Namespace = "gwtap"
	}
	if c.AppID == "" {
		errs = append(errs, fmt.Errorf("%s is required (the application id stamped on records, e.g. -1)", EnvAppID))
	} else if _, err := strconv.ParseInt(c.AppID, 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q must be an integer application id", EnvAppID, c.AppID))
	}
	if c.QueueURL == "" {
		errs = append(errs, fmt.Errorf("%s is required (the traffic queue URL)", EnvQueueURL))
	} else if u, err := url.Parse(c.QueueURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s=%q is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", EnvQueueURL, c.QueueURL))
	}
	var problems envconf.Problems
	intVar := func(name string, def, lo, hi int) int { return envconf.Int(getenv, &problems, name, def, lo, hi) }
	c.MaxMessageBytes = intVar(EnvMaxMessageBytes, envelope.DefaultMaxMessageBytes, envelope.MinMessageBytes, envelope.MaxMessageBytes)
	c.MaxDecompressedBytes = intVar(EnvMaxDecompressed, cwlogs.DefaultMaxDecompressed, 1<<20, 512<<20)
	c.MaxLineBytes = intVar(EnvMaxLineBytes, cwlogs.DefaultMaxLine, 1<<10, 16<<20)
	c.SendAttempts = intVar(EnvSendAttempts, 4, 1, 20)
	for _, f := range []struct {
		name string
		dst  *Redaction
	}{{EnvRedactSourceIP, &c.RedactSourceIP}, {EnvRedactUserAgent, &c.RedactUserAgent}} {
		mode, err := ParseRedaction(strings.TrimSpace(getenv(f.name)))
		if err != nil {
			problems.Add("%s: %v", f.name, err)
		}
		*f.dst = mode
	}
	c.RedactKey = []byte(getenv(EnvRedactKey))
	if (c.RedactSourceIP == Hash || c.RedactUserAgent == Hash) && len(c.RedactKey) < minRedactKeyBytes {
		problems.Add("%s must be at least %d bytes when a field is hashed (keep it secret: it is what makes the hash irreversible)", EnvRedactKey, minRedactKeyBytes)
	}
	return c, errors.Join(append(errs, problems...)...)
}
