package node

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gwtap/gwtap/internal/record"
)

// decodeFast decodes one NDJSON line into rec the way encoding/json would,
// for the lines a sender normally writes: one flat object, known keys
// spelled exactly, strings for string fields and integers for integer
// fields, unknown keys with scalar values. It returns false, leaving the
// verdict to encoding/json, for anything else: malformed JSON, a type that
// does not fit, a key that differs from a known one only in case (which
// encoding/json would match), nested values.
//
// Profiling put encoding/json at over half of the node's CPU per record;
// this path does the same work in a fraction of it, and strings share one
// allocation per line. line must be valid UTF-8 (the caller checks).
func decodeFast(line []byte, rec *record.Record) bool {
	s := string(line) // every escape-free string below is a slice of this one
	d := scanner{s: s}
	d.space()
	if !d.consume('{') {
		return false
	}
	d.space()
	if d.consume('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok {
			return false
		}
		d.space()
		if !d.consume(':') {
			return false
		}
		d.space()
		if !d.field(key, rec) {
			return false
		}
		d.space()
		if d.consume(',') {
			d.space()
			continue
		}
		if d.consume('}') {
			return d.end()
		}
		return false
	}
}

type scanner struct {
	s   string
	off int
}

func (d *scanner) space() {
	for d.off < len(d.s) {
		switch d.s[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

func (d *scanner) consume(c byte) bool {
	if d.off < len(d.s) && d.s[d.off] == c {
		d.off++
		return true
	}
	return false
}

// end reports whether only whitespace follows.
func (d *scanner) end() bool {
	d.space()
	return d.off == len(d.s)
}

// field decodes the value of key into rec.
func (d *scanner) field(key string, r *record.Record) bool {
	var sp *string
	var ip *int64
	var status *int
	switch key {
	case "id":
		sp = &r.ID
	case "app":
		sp = &r.AppID
	case "ts":
		ip = &r.Time
	case "event_ts":
		ip = &r.EventTime
	case "method":
		sp = &r.Method
	case "host":
		sp = &r.Host
	case "path":
		sp = &r.Path
	case "template":
		sp = &r.Template
	case "proto":
		sp = &r.Protocol
	case "stage":
		sp = &r.Stage
	case "api_id":
		sp = &r.APIID
	case "status":
		status = &r.Status
	case "integration_status":
		status = &r.IntegrationStatus
	case "resp_bytes":
		ip = &r.ResponseBytes
	case "latency_ms":
		ip = &r.LatencyMs
	case "integration_latency_ms":
		ip = &r.IntegrationLatency
	case "source_ip":
		sp = &r.SourceIP
	case "user_agent":
		sp = &r.UserAgent
	case "error":
		sp = &r.Error
	case "integration_error":
		sp = &r.IntegrationError
	case "response_type":
		sp = &r.ResponseType
	case "log_group":
		sp = &r.LogGroup
	case "log_stream":
		sp = &r.LogStream
	case "account":
		sp = &r.Account
	default:
		// encoding/json matches keys ignoring case; leave those to it.
		if foldsToKnown(key) {
			return false
		}
		return d.skipScalar()
	}
	if d.literal("null") {
		return true // encoding/json leaves the field as it is
	}
	switch {
	case sp != nil:
		v, ok := d.str()
		*sp = v
		return ok
	case ip != nil:
		v, ok := d.integer()
		*ip = v
		return ok
	default:
		v, ok := d.integer()
		*status = int(v)
		return ok && int64(int(v)) == v
	}
}

func (d *scanner) literal(lit string) bool {
	if len(d.s)-d.off >= len(lit) && d.s[d.off:d.off+len(lit)] == lit {
		d.off += len(lit)
		return true
	}
	return false
}

// integer reads a JSON number that is an integer in int64's range.
func (d *scanner) integer() (int64, bool) {
	start := d.off
	if d.off < len(d.s) && d.s[d.off] == '-' {
		d.off++
	}
	digits := d.off
	for d.off < len(d.s) && d.s[d.off] >= '0' && d.s[d.off] <= '9' {
		d.off++
	}
	n := d.off - digits
	if n == 0 || n > 1 && d.s[digits] == '0' {
		return 0, false
	}
	if d.off < len(d.s) {
		if c := d.s[d.off]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(d.s[start:d.off], 10, 64)
	return v, err == nil
}

// str reads a JSON string. Without escapes it is a slice of the line.
func (d *scanner) str() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.off
	for d.off < len(d.s) {
		c := d.s[d.off]
		switch {
		case c == '"':
			v := d.s[start:d.off]
			d.off++
			return v, true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.off++
	}
	return "", false
}

// escaped finishes a string that has escapes, from its first byte at start.
func (d *scanner) escaped(start int) (string, bool) {
	b := make([]byte, 0, d.off-start+16)
	b = append(b, d.s[start:d.off]...)
	for d.off < len(d.s) {
		c := d.s[d.off]
		switch {
		case c == '"':
			d.off++
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			b = append(b, c)
			d.off++
			continue
		}
		if d.off+1 >= len(d.s) {
			return "", false
		}
		e := d.s[d.off+1]
		d.off += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one
				// rune; any other surrogate becomes U+FFFD, as in
				// encoding/json.
				save := d.off
				if d.literal(`\u`) {
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
				}
				d.off = save
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (d *scanner) hex4() (rune, bool) {
	if len(d.s)-d.off < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(d.s[d.off : d.off+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.off += 4
	return r, true
}

// skipScalar skips the value of an unknown key when it is a string, a
// number, true, false or null.
func (d *scanner) skipScalar() bool {
	if d.off >= len(d.s) {
		return false
	}
	switch c := d.s[d.off]; {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.literal("true") || d.literal("false") || d.literal("null")
}

// number skips a JSON number.
func (d *scanner) number() bool {
	d.consume('-')
	digits := func() int {
		start := d.off
		for d.off < len(d.s) && d.s[d.off] >= '0' && d.s[d.off] <= '9' {
			d.off++
		}
		return d.off - start
	}
	start := d.off
	n := digits()
	if n == 0 || n > 1 && d.s[start] == '0' {
		return false
	}
	if d.consume('.') && digits() == 0 {
		return false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

var knownKeys = []string{"id", "app", "ts", "event_ts", "method", "host", "path", "template", "proto", "stage", "api_id",
	"status", "integration_status", "resp_bytes", "latency_ms", "integration_latency_ms", "source_ip", "user_agent",
	"error", "integration_error", "response_type", "log_group", "log_stream", "account"}

// foldsToKnown reports whether key could match a known key the way
// encoding/json matches names: ignoring case, with the Kelvin sign and the
// long s folding to k and s.
func foldsToKnown(key string) bool {
	for _, k := range knownKeys {
		if foldEqual(key, k) {
			return true
		}
	}
	return false
}

// foldEqual reports whether s equals the lower-case ASCII key under
// Unicode simple case folding.
func foldEqual(s, key string) bool {
	i := 0
	for _, r := range s {
		if i >= len(key) {
			return false
		}
		k := rune(key[i])
		i++
		switch {
		case r == k:
		case r >= 'A' && r <= 'Z' && r+'a'-'A' == k:
		case r == '\u212a' && k == 'k', r == '\u017f' && k == 's':
		default:
			return false
		}
	}
	return i == len(key)
}
