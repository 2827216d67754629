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
// Scanning methods take the index where their token starts and return the
// index after it, or -1 after recording the first error in err: returning
// one int instead of (int, error) from every token keeps the per-token cost
// down.
//
// The parser holds the fields by value, not by pointer: escape analysis
// does not tell a struct's fields apart, so a pointer next to s would be
// judged to escape with the substrings of s stored through it, and Parse's
// fields would move to the heap: one allocation per line.
type jsonParser struct {
	s   string
	f   fields
	err error
}

// parseJSON parses the object that starts at line[start] into f.
func parseJSON(line string, start int, f *fields) error {
	p := jsonParser{s: line}
	i := p.object(start, "", 0)
	if i < 0 {
		return p.err
	}
	if i = skipSpace(line, i); i != len(line) {
		p.malformed(i, "data after the top-level object")
		return p.err
	}
	*f = p.f
	return nil
}

// object parses the object at s[i]. Keys are looked up under prefix, the
// normalized name of the enclosing group.
func (p *jsonParser) object(i int, prefix string, depth int) int {
	i = skipSpace(p.s, i+1)
	if i < len(p.s) && p.s[i] == '}' {
		return i + 1
	}
	guess := 0 // the seed key expected next; see key
	for {
		if i >= len(p.s) || p.s[i] != '"' {
			return p.malformed(i, "expected a string key")
		}
		key, fd, next := p.key(i, prefix, &guess)
		if next < 0 {
			return -1
		}
		if i = skipSpace(p.s, next); i >= len(p.s) || p.s[i] != ':' {
			return p.malformed(i, "expected ':' after key")
		}
		if i = p.member(skipSpace(p.s, i+1), key, fd, prefix, depth); i < 0 {
			return -1
		}
		if i = skipSpace(p.s, i); i >= len(p.s) {
			return p.malformed(i, "")
		}
		switch p.s[i] {
		case ',':
			i = skipSpace(p.s, i+1)
		case '}':
			return i + 1
		default:
			return p.malformed(i, "expected ',' or '}'")
		}
	}
}

// seedKeys are the keys of the vendor seed's format, the default format, in
// their order there, each with its closing quote.
var seedKeys = [...]struct {
	quoted string
	field  field
}{
	{`requestId"`, fRequestID}, {`httpMethod"`, fMethod}, {`path"`, fPath}, {`protocol"`, fProtocol},
	{`status"`, fStatus}, {`responseLength"`, fResponseLength}, {`requestTime"`, fRequestTime},
	{`requestTimeEpoch"`, fRequestTimeEpoch}, {`responseLatency"`, fLatency},
	{`integrationLatency"`, fIntegrationLatency}, {`integrationStatus"`, fIntegrationStatus},
	{`errorMessage"`, fErrorMessage}, {`stage"`, fStage}, {`domainName"`, fDomainName},
	{`sourceIp"`, fSourceIP}, {`userAgent"`, fUserAgent},
}

// key scans the key at s[i] and returns it decoded, with the field it names
// and the index after it.
//
// It first guesses that the key is seedKeys[*guess], the seed key that
// follows the last one it recognised: on lines in the seed format (most
// lines), even with keys added, one comparison then replaces both the scan
// for the closing quote and the lookup (8% fewer instructions per seed
// line). A wrong guess costs one short comparison.
func (p *jsonParser) key(i int, prefix string, guess *int) (key string, fd field, next int) {
	if prefix == "" && *guess < len(seedKeys) {
		if g := seedKeys[*guess]; strings.HasPrefix(p.s[i+1:], g.quoted) {
			*guess++
			return g.quoted[:len(g.quoted)-1], g.field, i + 1 + len(g.quoted)
		}
	}
	key, esc, next := p.str(i)
	if next < 0 {
		return "", fNone, -1
	}
	if esc {
		key = unescape(key)
	}
	return key, lookup(prefix, key), next
}

// member parses the value of key, which names field fd, at s[i] and stores
// it.
func (p *jsonParser) member(i int, key string, fd field, prefix string, depth int) int {
	if i >= len(p.s) {
		return p.malformed(i, "")
	}
	c := p.s[i]
	if c == '{' && prefix == "" {
		if np := nestPrefix(key); np != "" {
			if depth >= maxDepth {
				return p.malformed(i, "nesting too deep")
			}
			return p.object(i, np, depth+1)
		}
	}
	if fd == fNone {
		return p.skip(i, depth+1)
	}
	switch {
	case c == '"':
		raw, esc, next := p.str(i)
		if next < 0 {
			return -1
		}
		if esc {
			raw = unescape(raw)
		}
		if !p.f.set(fd, raw, i+1) {
			return p.invalid(i, key, "not a number")
		}
		return next
	case c == '-' || isDigit(c):
		lit, next := p.number(i)
		if next < 0 {
			return -1
		}
		if !p.f.set(fd, lit, i) {
			return p.invalid(i, key, "number out of range")
		}
		return next
	case c == 'n':
		next := p.literal(i, "null")
		if next >= 0 {
			p.f.set(fd, "", i)
		}
		return next
	case c == '{':
		return p.invalid(i, key, "object, want a string or number")
	case c == '[':
		return p.invalid(i, key, "array, want a string or number")
	case c == 't' || c == 'f':
		return p.invalid(i, key, "boolean, want a string or number")
	}
	return p.malformed(i, "unexpected character")
}

// skip validates and steps over the value at s[i]. Nothing in it is
// decoded.
func (p *jsonParser) skip(i, depth int) int {
	if i >= len(p.s) {
		return p.malformed(i, "")
	}
	if depth > maxDepth {
		return p.malformed(i, "nesting too deep")
	}
	switch c := p.s[i]; {
	case c == '"':
		_, _, next := p.str(i)
		return next
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
		_, next := p.number(i)
		return next
	}
	return p.malformed(i, "unexpected character")
}

// skipContainer steps over the object or array at s[i], which ends with
// closer.
func (p *jsonParser) skipContainer(i int, closer byte, depth int) int {
	i = skipSpace(p.s, i+1)
	if i < len(p.s) && p.s[i] == closer {
		return i + 1
	}
	for {
		if closer == '}' {
			if i >= len(p.s) || p.s[i] != '"' {
				return p.malformed(i, "expected a string key")
			}
			if _, _, i = p.str(i); i < 0 {
				return -1
			}
			if i = skipSpace(p.s, i); i >= len(p.s) || p.s[i] != ':' {
				return p.malformed(i, "expected ':' after key")
			}
			i = skipSpace(p.s, i+1)
		}
		if i = p.skip(i, depth+1); i < 0 {
			return -1
		}
		if i = skipSpace(p.s, i); i >= len(p.s) {
			return p.malformed(i, "")
		}
		switch p.s[i] {
		case ',':
			i = skipSpace(p.s, i+1)
		case closer:
			return i + 1
		default:
			return p.malformed(i, "expected ',' or '"+string(closer)+"'")
		}
	}
}

// str scans the string whose opening quote is s[i]. It returns the raw
// contents (still escaped when esc is true) and the index after the closing
// quote.
//
// This is the inner loop of the parser. Access-log strings are short ("GET",
// "200", keys), where calling strings.IndexByte twice (for the quote and for
// a backslash) costs more than the scan itself, so str looks at eight bytes
// per step with word arithmetic instead: in w ^ c, a byte of w equal to c
// becomes zero, and (x - 0x01…01) &^ x & 0x80…80 sets the high bit of the
// lowest zero byte of x (bytes above it may be false positives, which is why
// only the lowest set bit counts).
func (p *jsonParser) str(i int) (raw string, esc bool, next int) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	start, k := i+1, i+1
	for ; k+8 <= len(p.s); k += 8 {
		w := load64(p.s[k : k+8])
		q, b := w^('"'*ones), w^('\\'*ones)
		if m := ((q-ones)&^q | (b-ones)&^b) & highs; m != 0 {
			k += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; k < len(p.s) && p.s[k] != '"' && p.s[k] != '\\'; k++ {
	}
	switch {
	case k == len(p.s):
		return "", false, p.malformed(i, "unterminated string")
	case p.s[k] == '\\':
		return p.escaped(start, k)
	}
	return p.s[start:k], false, k + 1
}

// escaped finishes str for a string with escapes, from the first backslash
// at s[k]. It validates every escape, so that unescape cannot fail.
func (p *jsonParser) escaped(start, k int) (raw string, esc bool, next int) {
	for k < len(p.s) {
		switch p.s[k] {
		case '"':
			return p.s[start:k], true, k + 1
		case '\\':
			if k+1 >= len(p.s) {
				return "", false, p.malformed(start-1, "unterminated string")
			}
			switch p.s[k+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				k += 2
			case 'u':
				if k+6 > len(p.s) || hex4(p.s[k+2:k+6]) < 0 {
					return "", false, p.malformed(k, `invalid \u escape`)
				}
				k += 6
			default:
				return "", false, p.malformed(k, "invalid escape")
			}
		default:
			k++
		}
	}
	return "", false, p.malformed(start-1, "unterminated string")
}

// load64 reads s[0:8] as a little-endian word; the compiler merges the
// byte loads into one.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// number scans the JSON number at s[i] and returns its text.
func (p *jsonParser) number(i int) (lit string, next int) {
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
		return "", p.malformed(i, "invalid number")
	}
	if i < len(p.s) && p.s[i] == '.' {
		if i = skipDigits(p.s, i+1); i < 0 {
			return "", p.malformed(start, "invalid number")
		}
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		i++
		if i < len(p.s) && (p.s[i] == '+' || p.s[i] == '-') {
			i++
		}
		if i = skipDigits(p.s, i); i < 0 {
			return "", p.malformed(start, "invalid number")
		}
	}
	return p.s[start:i], i
}

func (p *jsonParser) literal(i int, lit string) int {
	if !strings.HasPrefix(p.s[i:], lit) {
		return p.malformed(i, "invalid literal")
	}
	return i + len(lit)
}

// malformed records a syntax error at s[off] and returns -1; an empty
// detail at the end of the line means the line was cut short.
func (p *jsonParser) malformed(off int, detail string) int {
	if off >= len(p.s) {
		detail = "unexpected end of line"
	}
	p.err = newError(p.s, FormatJSON, ErrMalformed, off, detail)
	return -1
}

// invalid records a value of the wrong type or shape and returns -1.
func (p *jsonParser) invalid(off int, key, what string) int {
	p.err = newError(p.s, FormatJSON, ErrInvalidValue, off, "key "+strconv.Quote(key)+": "+what)
	return -1
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
