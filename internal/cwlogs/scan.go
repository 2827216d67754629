package cwlogs

import (
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/gwtap/gwtap/internal/swar"
)

// maxDepth bounds the nesting of values skipped inside the document, so a
// hostile payload cannot drive the scanner into deep recursion.
const maxDepth = 64

// span locates an unescaped string inside the compacted prefix of the document.
type span struct{ off, n int }

type eventSpans struct {
	id, msg span
	ts      int64
}

// scanner reads the document in b. Every string it keeps is unescaped in
// place and moved down to b[w:], so all kept strings end up packed in b[:w]:
// decoding never writes past what it has read (an escape is never shorter
// than what it decodes to), which is what makes the in-place rewrite safe.
type scanner struct {
	b    []byte
	i, w int
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrJSON, what, s.i)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it.
func (s *scanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// rawKey returns an object key without unescaping it; keys CloudWatch writes
// have no escapes, and a key with one simply matches nothing we look for.
func (s *scanner) rawKey() ([]byte, error) {
	if !s.next('"') {
		return nil, s.fail("expected object key")
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			k := s.b[start:s.i]
			s.i++
			if !s.next(':') {
				return nil, s.fail("expected ':'")
			}
			return k, nil
		case '\\':
			s.i += 2
		default:
			s.i++
		}
	}
	return nil, s.fail("unterminated key")
}

// keep reads a JSON string value, unescapes it into b[w:] and returns where it is.
func (s *scanner) keep() (span, error) {
	if !s.next('"') {
		return span{}, s.fail("expected string")
	}
	b := s.b
	i, w := s.i, s.w
	start := w
	for {
		// Skip the plain run up to the next quote or backslash, eight bytes
		// at a time, and move it down in one copy.
		j := i
		for j+8 <= len(b) {
			x := swar.Load(b, j)
			if m := swar.Eq(x, '"') | swar.Eq(x, '\\'); m != 0 {
				j += swar.First(m)
				goto found
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
	found:
		w += copy(b[w:], b[i:j])
		i = j
		if i >= len(b) {
			break
		}
		if b[i] == '"' {
			s.i, s.w = i+1, w
			return span{start, w - start}, nil
		}
		if i+1 >= len(b) {
			break
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			b[w] = e
		case 'n':
			b[w] = '\n'
		case 't':
			b[w] = '\t'
		case 'r':
			b[w] = '\r'
		case 'b':
			b[w] = '\b'
		case 'f':
			b[w] = '\f'
		case 'u':
			r, n := decodeU(b[i:])
			if n == 0 {
				s.i = i
				return span{}, s.fail("invalid \\u escape")
			}
			w += utf8.EncodeRune(b[w:], r)
			i += n
			continue
		default:
			s.i = i
			return span{}, s.fail("invalid escape")
		}
		w++
		i += 2
	}
	s.i = len(b)
	return span{}, s.fail("unterminated string")
}

// decodeU decodes \uXXXX (or a surrogate pair of two) at the start of b and
// returns the rune and the bytes consumed, 0 if malformed. A lone surrogate
// becomes U+FFFD, as encoding/json does.
func decodeU(b []byte) (rune, int) {
	r := hex4(b)
	if r < 0 {
		return 0, 0
	}
	if r < 0xD800 || r > 0xDFFF {
		return r, 6
	}
	if r <= 0xDBFF && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if lo := hex4(b[6:]); lo >= 0xDC00 && lo <= 0xDFFF {
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12
		}
	}
	return utf8.RuneError, 6
}

func hex4(b []byte) rune {
	if len(b) < 6 {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// int64 reads a JSON number that must be an integer.
func (s *scanner) int64() (int64, error) {
	s.ws()
	neg := false
	if s.i < len(s.b) && s.b[s.i] == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if v > (1<<63-1)/10 {
			return 0, s.fail("integer overflow")
		}
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start {
		return 0, s.fail("expected integer")
	}
	if neg {
		v = -v
	}
	return v, nil
}

// skip skips any JSON value.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		s.i++
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.i++
				return nil
			case '\\':
				s.i += 2
			default:
				s.i++
			}
		}
		return s.fail("unterminated string")
	case c == '{':
		s.i++
		if s.next('}') {
			return nil
		}
		for {
			if _, err := s.rawKey(); err != nil {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if s.next('}') {
				return nil
			}
			if !s.next(',') {
				return s.fail("expected ',' or '}'")
			}
		}
	case c == '[':
		s.i++
		if s.next(']') {
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if s.next(']') {
				return nil
			}
			if !s.next(',') {
				return s.fail("expected ',' or ']'")
			}
		}
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		// Numbers and true/false/null: consume the token.
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			s.i++
		}
		if s.i == start {
			return s.fail("unexpected byte")
		}
		return nil
	default:
		return s.fail("unexpected byte")
	}
}

// parseDocument scans the subscription document in doc (rewriting it) and
// returns the payload. Messages longer than maxLine are counted and dropped.
func parseDocument(doc []byte, maxLine int) (*Payload, error) {
	s := &scanner{b: doc}
	var (
		msgType, owner, group, stream span
		filters                       []span
		evs                           []eventSpans
		oversized                     int
	)
	if !s.next('{') {
		return nil, s.fail("expected '{'")
	}
	if !s.next('}') {
		for {
			key, err := s.rawKey()
			if err != nil {
				return nil, err
			}
			switch string(key) {
			case "messageType":
				msgType, err = s.keep()
			case "owner":
				owner, err = s.keep()
			case "logGroup":
				group, err = s.keep()
			case "logStream":
				stream, err = s.keep()
			case "subscriptionFilters":
				filters, err = s.stringArray()
			case "logEvents":
				evs, oversized, err = s.logEvents(maxLine)
			default:
				err = s.skip(0)
			}
			if err != nil {
				return nil, err
			}
			if s.next('}') {
				break
			}
			if !s.next(',') {
				return nil, s.fail("expected ',' or '}'")
			}
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, s.fail("trailing data")
	}
	// Every kept string is packed in doc[:s.w]; they become substrings of one
	// string over that memory, without a copy. This is safe because doc is
	// a buffer gunzip made for this payload alone and nothing writes to it
	// from here on, which is the immutability a Go string needs.
	var all string
	if s.w > 0 {
		all = unsafe.String(&doc[0], s.w)
	}
	str := func(sp span) string { return all[sp.off : sp.off+sp.n] }
	p := &Payload{
		MessageType: str(msgType),
		Owner:       str(owner),
		LogGroup:    str(group),
		LogStream:   str(stream),
		Oversized:   oversized,
	}
	if p.MessageType == "" {
		return nil, fmt.Errorf("%w: no messageType", ErrJSON)
	}
	for _, f := range filters {
		p.SubscriptionFilters = append(p.SubscriptionFilters, str(f))
	}
	p.LogEvents = make([]LogEvent, len(evs))
	for i, e := range evs {
		p.LogEvents[i] = LogEvent{ID: str(e.id), Timestamp: e.ts, Message: str(e.msg)}
	}
	return p, nil
}

// null reports whether the next value is the literal null, consuming it.
func (s *scanner) null() bool {
	s.ws()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) stringArray() ([]span, error) {
	if s.null() {
		return nil, nil
	}
	if !s.next('[') {
		return nil, s.fail("expected array")
	}
	var out []span
	if s.next(']') {
		return out, nil
	}
	for {
		sp, err := s.keep()
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
		if s.next(']') {
			return out, nil
		}
		if !s.next(',') {
			return nil, s.fail("expected ',' or ']'")
		}
	}
}

func (s *scanner) logEvents(maxLine int) ([]eventSpans, int, error) {
	if s.null() {
		return nil, 0, nil
	}
	if !s.next('[') {
		return nil, 0, s.fail("expected logEvents array")
	}
	evs := make([]eventSpans, 0, 64)
	oversized := 0
	if s.next(']') {
		return evs, 0, nil
	}
	for {
		if !s.next('{') {
			return nil, 0, s.fail("expected log event object")
		}
		var ev eventSpans
		mark := s.w
		if !s.next('}') {
			for {
				key, err := s.rawKey()
				if err != nil {
					return nil, 0, err
				}
				switch string(key) {
				case "id":
					ev.id, err = s.keep()
				case "timestamp":
					ev.ts, err = s.int64()
				case "message":
					ev.msg, err = s.keep()
				default:
					err = s.skip(0)
				}
				if err != nil {
					return nil, 0, err
				}
				if s.next('}') {
					break
				}
				if !s.next(',') {
					return nil, 0, s.fail("expected ',' or '}'")
				}
			}
		}
		if ev.msg.n > maxLine {
			// Drop what this event wrote; nothing after it has been kept yet.
			s.w = mark
			oversized++
		} else {
			evs = append(evs, ev)
		}
		if s.next(']') {
			return evs, oversized, nil
		}
		if !s.next(',') {
			return nil, 0, s.fail("expected ',' or ']'")
		}
	}
}
