package accesslog

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of skipped values, so a hostile line of
// a quarter million '[' cannot exhaust the stack. API Gateway formats nest
// two levels at most.
const maxDepth = 512

// jsonParser scans one JSON object in a single pass. It validates the whole
// line, since a record built from a half-broken line would be wrong without
// anyone noticing, but decodes only the values of keys it knows.
//
// It holds the fields by value, not by pointer: escape analysis does not
// tell a struct's fields apart, so a pointer next to s would be judged to
// escape with the substrings of s stored through it, and Parse's fields
// would move to the heap: one allocation per line.
type jsonParser struct {
	s string
	f fields
}

// parseJSON parses the object that starts at line[start] into f.
func parseJSON(line string, start int, f *fields) error {
	p := jsonParser{s: line}
	i, err := p.object(start, "", 0)
	if err != nil {
		return err
	}
	if i = skipSpace(line, i); i != len(line) {
		return p.malformed(i, "data after the top-level object")
	}
	*f = p.f
	return nil
}

// object parses the object at s[i] and returns the index after it. Keys are
// looked up under prefix, the normalized name of the enclosing group.
func (p *jsonParser) object(i int, prefix string, depth int) (int, error) {
	i = skipSpace(p.s, i+1)
	if i < len(p.s) && p.s[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(p.s) || p.s[i] != '"' {
			return 0, p.malformed(i, "expected a string key")
		}
		key, esc, next, err := p.str(i)
		if err != nil {
			return 0, err
		}
		if esc {
			key = unescape(key)
		}
		if i = skipSpace(p.s, next); i >= len(p.s) || p.s[i] != ':' {
			return 0, p.malformed(i, "expected ':' after key")
		}
		if i, err = p.member(skipSpace(p.s, i+1), key, prefix, depth); err != nil {
			return 0, err
		}
		if i = skipSpace(p.s, i); i >= len(p.s) {
			return 0, p.malformed(i, "")
		}
		switch p.s[i] {
		case ',':
			i = skipSpace(p.s, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, p.malformed(i, "expected ',' or '}'")
		}
	}
}

// member parses the value of key at s[i] and stores it if key names a
// field. It returns the index after the value.
func (p *jsonParser) member(i int, key, prefix string, depth int) (int, error) {
	if i >= len(p.s) {
		return 0, p.malformed(i, "")
	}
	c := p.s[i]
	if c == '{' && prefix == "" {
		if np := nestPrefix(key); np != "" {
			if depth >= maxDepth {
				return 0, p.malformed(i, "nesting too deep")
			}
			return p.object(i, np, depth+1)
		}
	}
	fd := lookup(prefix, key)
	if fd == fNone {
		return p.skip(i, depth+1)
	}
	switch {
	case c == '"':
		raw, esc, next, err := p.str(i)
		if err != nil {
			return 0, err
		}
		if esc {
			raw = unescape(raw)
		}
		if !p.f.set(fd, raw, i+1) {
			return 0, p.invalid(i, key, "not a number")
		}
		return next, nil
	case c == '-' || isDigit(c):
		lit, next, err := p.number(i)
		if err != nil {
			return 0, err
		}
		if !p.f.set(fd, lit, i) {
			return 0, p.invalid(i, key, "number out of range")
		}
		return next, nil
	case c == 'n':
		next, err := p.literal(i, "null")
		if err == nil {
			p.f.set(fd, "", i)
		}
		return next, err
	case c == '{':
		return 0, p.invalid(i, key, "object, want a string or number")
	case c == '[':
		return 0, p.invalid(i, key, "array, want a string or number")
	case c == 't' || c == 'f':
		return 0, p.invalid(i, key, "boolean, want a string or number")
	}
	return 0, p.malformed(i, "unexpected character")
}

// skip validates and steps over the value at s[i], returning the index after
// it. Nothing in it is decoded.
func (p *jsonParser) skip(i, depth int) (int, error) {
	if i >= len(p.s) {
		return 0, p.malformed(i, "")
	}
	if depth > maxDepth {
		return 0, p.malformed(i, "nesting too deep")
	}
	switch c := p.s[i]; {
	case c == '"':
		_, _, next, err := p.str(i)
		return next, err
	case c == '{':
		return p.skipContainer(i, '}', depth)
	case c == '[':
		return p.skipContainer(i, ']', depth)
	case c == 't':
		return p.literal(i, "true")
	case c == 'f':
		return p.literal(i, "false")
	case c == 'n':
		return p.literal(i, "null")
	case c == '-' || isDigit(c):
		_, next, err := p.number(i)
		return next, err
	}
	return 0, p.malformed(i, "unexpected character")
}

// skipContainer steps over the object or array at s[i], which ends with
// closer.
func (p *jsonParser) skipContainer(i int, closer byte, depth int) (int, error) {
	i = skipSpace(p.s, i+1)
	if i < len(p.s) && p.s[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if closer == '}' {
			if i >= len(p.s) || p.s[i] != '"' {
				return 0, p.malformed(i, "expected a string key")
			}
			if _, _, i, err = p.str(i); err != nil {
				return 0, err
			}
			if i = skipSpace(p.s, i); i >= len(p.s) || p.s[i] != ':' {
				return 0, p.malformed(i, "expected ':' after key")
			}
			i = skipSpace(p.s, i+1)
		}
		if i, err = p.skip(i, depth+1); err != nil {
			return 0, err
		}
		if i = skipSpace(p.s, i); i >= len(p.s) {
			return 0, p.malformed(i, "")
		}
		switch p.s[i] {
		case ',':
			i = skipSpace(p.s, i+1)
		case closer:
			return i + 1, nil
		default:
			return 0, p.malformed(i, "expected ',' or '"+string(closer)+"'")
		}
	}
}

// str scans the string whose opening quote is s[i]. It returns the raw
// contents (still escaped when esc is true) and the index after the closing
// quote. Escapes are validated here so that unescape cannot fail.
func (p *jsonParser) str(i int) (raw string, esc bool, next int, err error) {
	start := i + 1
	k := indexQuoteOrBackslash(p.s[start:])
	if k < 0 {
		return "", false, 0, p.malformed(i, "unterminated string")
	}
	k += start
	if p.s[k] == '"' {
		return p.s[start:k], false, k + 1, nil
	}
	// Slow path from the first backslash: walk escape by escape.
	for k < len(p.s) {
		switch p.s[k] {
		case '"':
			return p.s[start:k], true, k + 1, nil
		case '\\':
			if k+1 >= len(p.s) {
				return "", false, 0, p.malformed(i, "unterminated string")
			}
			switch p.s[k+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				k += 2
			case 'u':
				if k+6 > len(p.s) || hex4(p.s[k+2:k+6]) < 0 {
					return "", false, 0, p.malformed(k, `invalid \u escape`)
				}
				k += 6
			default:
				return "", false, 0, p.malformed(k, "invalid escape")
			}
		default:
			k++
		}
	}
	return "", false, 0, p.malformed(i, "unterminated string")
}

// indexQuoteOrBackslash returns the index of the first '"' or '\\' in s, or
// -1: where a JSON string ends or needs decoding. It is the inner loop of the
// parser. Access-log strings are short ("GET", "200", keys), where calling
// strings.IndexByte twice (once per character) costs more than the scan, so
// the first bytes are checked one by one and the rest eight at a time.
func indexQuoteOrBackslash(s string) int {
	i := 0
	// Eight bytes per step: for w ^ c, a byte of w equal to c becomes zero,
	// and (x - 0x01…01) &^ x & 0x80…80 sets the high bit of the lowest zero
	// byte of x (higher bytes may be false positives, which is why only the
	// lowest set bit is used).
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := load64(s[i:])
		q, b := w^('"'*ones), w^('\\'*ones)
		if m := ((q-ones)&^q | (b-ones)&^b) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// load64 reads s[0:8] as a little-endian word; the compiler merges the
// byte loads into one.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// number scans the JSON number at s[i] and returns its text.
func (p *jsonParser) number(i int) (lit string, next int, err error) {
	start := i
	if p.s[i] == '-' {
		i++
	}
	switch {
	case i < len(p.s) && p.s[i] == '0':
		i++
	case i < len(p.s) && isDigit(p.s[i]):
		for i < len(p.s) && isDigit(p.s[i]) {
			i++
		}
	default:
		return "", 0, p.malformed(i, "invalid number")
	}
	if i < len(p.s) && p.s[i] == '.' {
		if i = skipDigits(p.s, i+1); i < 0 {
			return "", 0, p.malformed(start, "invalid number")
		}
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		i++
		if i < len(p.s) && (p.s[i] == '+' || p.s[i] == '-') {
			i++
		}
		if i = skipDigits(p.s, i); i < 0 {
			return "", 0, p.malformed(start, "invalid number")
		}
	}
	return p.s[start:i], i, nil
}

func (p *jsonParser) literal(i int, lit string) (int, error) {
	if !strings.HasPrefix(p.s[i:], lit) {
		return 0, p.malformed(i, "invalid literal")
	}
	return i + len(lit), nil
}

// malformed reports a syntax error at s[off]; an empty detail at the end of
// the line means the line was cut short.
func (p *jsonParser) malformed(off int, detail string) error {
	if off >= len(p.s) {
		detail = "unexpected end of line"
	}
	return newError(p.s, FormatJSON, ErrMalformed, off, detail)
}

func (p *jsonParser) invalid(off int, key, what string) error {
	return newError(p.s, FormatJSON, ErrInvalidValue, off, "key "+strconv.Quote(key)+": "+what)
}

// unescape decodes the contents of a JSON string that str validated, the
// way encoding/json does: a lone or unpaired surrogate becomes U+FFFD.
// Invalid UTF-8 passes through; the record encoder replaces it.
func unescape(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		j := strings.IndexByte(raw[i:], '\\')
		if j < 0 {
			b.WriteString(raw[i:])
			break
		}
		b.WriteString(raw[i : i+j])
		i += j
		switch c := raw[i+1]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := rune(hex4(raw[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, rune(hex4(raw[i+2:i+6]))); d != unicode.ReplacementChar {
						b.WriteRune(d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
			continue
		default: // '"', '\\', '/'
			b.WriteByte(c)
		}
		i += 2
	}
	return b.String()
}

// hex4 returns the value of four hex digits, or -1.
func hex4(s string) int {
	n := 0
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		n = n<<4 | int(c)
	}
	return n
}
