package accesslog

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reasons a line is rejected. Parse wraps exactly one of them in a
// *ParseError, so callers count rejects with errors.Is and log a few samples
// with the detail errors.As gives.
var (
	// ErrEmpty means the line is empty or only white space.
	ErrEmpty = errors.New("empty line")
	// ErrUnknownFormat means the line is none of JSON, XML, CLF or CSV.
	ErrUnknownFormat = errors.New("unknown log format")
	// ErrMalformed means the line breaks the syntax of its format: invalid
	// JSON, unbalanced XML, a CLF line without its quoted request.
	ErrMalformed = errors.New("malformed line")
	// ErrInvalidValue means a field the record needs holds a value of the
	// wrong type or shape: an object for status, "abc" for a latency, a
	// requestTime that is not CLF time.
	ErrInvalidValue = errors.New("invalid field value")
	// ErrMissingMethod means the line names no HTTP method.
	ErrMissingMethod = errors.New("missing method")
	// ErrMissingPath means the line names neither a path nor a usable
	// route (an HTTP API line whose only route is $default, for example).
	ErrMissingPath = errors.New("missing path")
)

// maxExcerpt caps ParseError.Excerpt: enough to recognise a log format in a
// sampled error log, short enough that a 256 KB line never floods it.
const maxExcerpt = 120

// ParseError reports why Parse rejected a line.
type ParseError struct {
	// Format is the detected format, FormatUnknown when detection failed.
	Format Format
	// Reason is one of the Err* sentinels of this package.
	Reason error
	// Offset is the byte offset in the line where the problem was found, or
	// -1 when the problem is the line as a whole (such as a missing method).
	Offset int
	// Detail says what exactly was wrong, for example "unterminated string".
	Detail string
	// Excerpt is at most 120 bytes of the line around Offset, copied so a
	// retained error does not keep the whole CloudWatch payload alive.
	// "…" marks where it was cut.
	Excerpt string
}

// Error returns the reason, detail, offset and excerpt in one line.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("accesslog: ")
	if e.Format != FormatUnknown {
		b.WriteString(e.Format.String())
		b.WriteString(" line: ")
	}
	b.WriteString(e.Reason.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Offset >= 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	if e.Excerpt != "" {
		b.WriteString(" in ")
		b.WriteString(strconv.Quote(e.Excerpt))
	}
	return b.String()
}

// Unwrap returns Reason, so errors.Is(err, ErrMalformed) and friends work.
func (e *ParseError) Unwrap() error { return e.Reason }

// newError builds the error for a rejected line. It is only called on the
// reject path, so it may allocate.
func newError(line string, format Format, reason error, off int, detail string) *ParseError {
	return &ParseError{
		Format:  format,
		Reason:  reason,
		Offset:  off,
		Detail:  detail,
		Excerpt: excerpt(line, off),
	}
}

// excerpt returns at most maxExcerpt bytes of line (plus "…" marks) around
// off, cut on UTF-8 boundaries. The window starts a little before off so the
// excerpt shows what led to the problem as well as the problem itself.
func excerpt(line string, off int) string {
	if len(line) <= maxExcerpt {
		return strings.Clone(line)
	}
	start := 0
	if off > maxExcerpt/3 {
		start = off - maxExcerpt/3
	}
	if start > len(line)-maxExcerpt {
		start = len(line) - maxExcerpt
	}
	end := start + maxExcerpt
	for start < end && !utf8.RuneStart(line[start]) {
		start++
	}
	for end > start && end < len(line) && !utf8.RuneStart(line[end]) {
		end--
	}
	var b strings.Builder
	b.Grow(end - start + 2*len("…"))
	if start > 0 {
		b.WriteString("…")
	}
	b.WriteString(line[start:end])
	if end < len(line) {
		b.WriteString("…")
	}
	return b.String()
}
