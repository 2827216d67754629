// Package backoff is gwtap's one retry schedule: exponential backoff with
// full jitter, a cap per wait, and a hard stop before the caller's deadline,
// so a retry never runs into the Lambda timeout.
package backoff
