package discovery

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config says which requests make endpoints exist and when an endpoint is
// shown. Start from DefaultConfig and change what you need.
type Config struct {
	// CountStatusClasses are the status classes (2 for 2xx, …) whose
	// responses make an endpoint exist and shape the learned templates.
	// Responses of other classes are still added to the stats of an
	// endpoint that exists. Default {2}: a path nobody ever got a success
	// from (scanners, typos, 404s) is not part of the API.
	CountStatusClasses []int
	// SkipMethods are ignored entirely. Default OPTIONS and HEAD, which
	// mirror other methods (CORS preflights, probes) rather than being
	// endpoints of their own.
	SkipMethods []string
	// SkipLoopback ignores requests whose host is localhost, *.localhost,
	// 127.0.0.0/8 or ::1: health checks and local tests. Default true.
	SkipLoopback bool
	// MinRequests is how many counted requests an endpoint needs before
	// Endpoints shows it. Default 2: a single request is as likely to be a
	// one-off (a guessed id, a typo that happened to match) as an endpoint.
	MinRequests int
	// MinSpan, when positive, also requires the counted requests to spread
	// over more than this duration. Default 0 (no requirement): replays and
	// backfills deliver old records in bursts, and a burst of successful
	// requests to one path is no less real than a trickle. Set it, to an
	// hour say, to hide what only one scripted run ever touched.
	MinSpan time.Duration
	// MaxExamples is how many distinct concrete paths are kept per
	// endpoint. Default 5.
	MaxExamples int
}

// DefaultConfig returns the defaults described on Config's fields.
func DefaultConfig() Config {
	return Config{
		CountStatusClasses: []int{2},
		SkipMethods:        []string{"OPTIONS", "HEAD"},
		SkipLoopback:       true,
		MinRequests:        2,
		MinSpan:            0,
		MaxExamples:        5,
	}
}

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("invalid discovery config")

// Validate returns nil when every field of c is usable, or an error wrapping
// ErrInvalidConfig that lists every problem found.
func (c Config) Validate() error {
	var problems []string
	if len(c.CountStatusClasses) == 0 {
		problems = append(problems, "CountStatusClasses is empty")
	}
	for _, cl := range c.CountStatusClasses {
		if cl < 1 || cl > 5 {
			problems = append(problems, fmt.Sprintf("CountStatusClasses has %d, want 1 to 5", cl))
		}
	}
	for _, m := range c.SkipMethods {
		if strings.TrimSpace(m) == "" {
			problems = append(problems, "SkipMethods has an empty method")
		}
	}
	if c.MinRequests < 1 {
		problems = append(problems, fmt.Sprintf("MinRequests is %d, want at least 1", c.MinRequests))
	}
	if c.MinSpan < 0 {
		problems = append(problems, fmt.Sprintf("MinSpan is %v, want 0 or more", c.MinSpan))
	}
	if c.MaxExamples < 0 {
		problems = append(problems, fmt.Sprintf("MaxExamples is %d, want 0 or more", c.MaxExamples))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
}

// settings is a Config made usable: New never fails, so out-of-range values
// are clamped here (Validate reports them).
type settings struct {
	count       [8]bool // by status class; index 0 is "no status logged"
	skip        []string
	loopback    bool
	minRequests int64
	minSpanMs   int64
	maxExamples int
}

func newSettings(c Config) settings {
	s := settings{
		loopback:    c.SkipLoopback,
		minRequests: int64(max(c.MinRequests, 1)),
		minSpanMs:   max(c.MinSpan.Milliseconds(), 0),
		maxExamples: max(c.MaxExamples, 0),
	}
	counted := false
	for _, cl := range c.CountStatusClasses {
		if cl >= 1 && cl <= 5 {
			s.count[cl] = true
			counted = true
		}
	}
	if !counted {
		s.count[2] = true
	}
	for _, m := range c.SkipMethods {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			s.skip = append(s.skip, m)
		}
	}
	return s
}

// statusClass returns 1 to 5 for a status of 100 to 599, else 0.
func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}
