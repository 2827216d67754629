package awsenv

import (
	"math"
	"runtime/debug"
	"strconv"
)

// memoryShare is the part of the function's memory the Go heap may use
// before the collector works harder; the rest is the runtime, stacks, the
// binary and the event Lambda hands over.
const memoryShare = 0.75

// MemoryLimit returns the soft memory limit for a function of
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE megabytes, or 0 when the size is not set
// or GOMEMLIMIT already says what the operator wants.
func MemoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return 0
	}
	return int64(math.Round(float64(mb) * memoryShare * (1 << 20)))
}

// LimitMemory applies MemoryLimit, so a large delivery makes the collector
// run more often instead of growing the heap past what the function has
// (with the default GOGC the heap may reach twice the live data before a
// collection). It returns the limit set, 0 if none.
func LimitMemory(getenv func(string) string) int64 {
	limit := MemoryLimit(getenv)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit
}
