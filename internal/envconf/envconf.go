// Package envconf reads typed settings from environment variables and keeps
// every problem it meets, so a function's LoadConfig can report all of them
// at once instead of stopping at the first.
package envconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Problems collects configuration errors.
type Problems []error

// Add records a problem.
func (p *Problems) Add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// Int returns the integer in variable name, def when it is unset, and def
// plus a recorded problem when it is not an integer within [lo, hi].
func Int(getenv func(string) string, p *Problems, name string, def, lo, hi int) int {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		p.Add("%s=%q must be an integer in [%d, %d]", name, s, lo, hi)
		return def
	}
	return v
}

// Duration is Int for Go durations such as 5s or 250ms.
func Duration(getenv func(string) string, p *Problems, name string, def, lo, hi time.Duration) time.Duration {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		p.Add("%s=%q must be a duration in [%s, %s], such as 5s", name, s, lo, hi)
		return def
	}
	return d
}
