package discovery

import "strings"

// kind is the lexical class of one concrete path segment. The typed kinds
// (kindInteger and after) are parameter values on sight; the others are
// literal candidates whose position decides, from the traffic, whether they
// are names or values.
type kind uint8

const (
	// kindWord is letters, optionally joined by single '-', '_' or '.':
	// "feed", "payment_intents", "hello-world", "serverInfo", "index.html".
	kindWord kind = iota
	// kindVersion is an API version such as "v1", "v2.1" or "v1beta1".
	kindVersion
	// kindMixed is letters and digits that match no typed kind: "jake92",
	// "oauth2", "s3", "release-1.2".
	kindMixed
	// kindOther is anything else that is not typed: percent-escapes, runs of
	// punctuation, ".well-known", "main...dev".
	kindOther
	// kindSlug is a word of three or more joined parts, or a long one:
	// "how-to-train-your-dragon". Names of resources are rarely like that.
	kindSlug

	kindInteger    // 42, -7
	kindNumber     // 3.14
	kindUUID       // 123e4567-e89b-12d3-a456-426614174000
	kindHex        // 7+ hex digits with at least one digit and one letter: git SHAs, hashes
	kindDate       // 2026-03-04, 2026-03
	kindDateTime   // 2026-03-04T10:00:00Z
	kindEmail      // jane@example.org, jane%40example.org
	kindIP         // 192.0.2.1
	kindPrefixedID // cus_NffrFeUfNV2Hib, pi_3MtwBw…, cs_test_a1B2…, ord_3fa9…
	kindKey        // PROJ-123, SKU-12345-A
	kindCode       // all capitals: PROJ, USD, SUMMER25, MY_SECRET
	kindToken      // long random-looking runs of letters and digits (base64-ish ids)
	kindLong       // longer than maxLiteralLen: no literal is that long

	numKinds
)

// maxLiteralLen is the longest segment treated as a possible literal.
const maxLiteralLen = 64

// maxWordLen is the longest segment of letters treated as a word rather
// than a slug.
const maxWordLen = 24

// typed reports whether a segment of kind k is a parameter value on sight.
func (k kind) typed() bool { return k >= kindInteger }

// pendingEligible reports whether a new value of kind k at a position that
// is already a parameter may still turn out to be a literal sibling (like
// "feed" beside article slugs). Values with digits or punctuation may not:
// literal siblings are words.
func (k kind) pendingEligible() bool { return k == kindWord || k == kindVersion }

// mixedLike reports whether kind k is untyped but looks like data rather
// than a name: a position where most values are mixed-like is variable
// after little traffic.
func (k kind) mixedLike() bool { return k == kindMixed || k == kindOther || k == kindSlug }

// String returns the kind's name, for tests and debugging.
func (k kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

var kindNames = [numKinds]string{
	"word", "version", "mixed", "other", "slug", "integer", "number", "uuid", "hex", "date", "datetime",
	"email", "ip", "prefixed-id", "key", "code", "token", "long",
}

// classify returns the lexical class of the path segment s. It looks at s
// alone: whether a word is a name or a value is decided from the traffic.
func classify(s string) kind {
	n := len(s)
	if n == 0 {
		return kindOther
	}
	if n > maxLiteralLen {
		return kindLong
	}
	var digits, lower, upper, hyphen, under, dot, at, other int
	for i := range n {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upper++
		case c == '-':
			hyphen++
		case c == '_':
			under++
		case c == '.':
			dot++
		case c == '@':
			at++
		default:
			other++
		}
	}
	letters := lower + upper
	switch {
	case digits == n:
		return kindInteger
	case digits == n-1 && n > 1 && s[0] == '-':
		return kindInteger
	case at == 1 && isEmail(s):
		return kindEmail
	case at > 0:
		return kindOther
	case strings.ContainsAny(s, "{}"):
		// A template placeholder logged as a path: a parameter, never a
		// literal that could render like one.
		return kindToken
	case other > 0:
		if isDateTime(s) {
			return kindDateTime
		}
		if i := strings.Index(s, "%40"); i > 0 && isEmail(s[:i]+"@"+s[i+3:]) {
			return kindEmail
		}
		return kindOther
	case letters == 0:
		return classifyDigits(s, digits, hyphen, dot)
	case digits == 0:
		switch {
		case lower == 0 && hyphen == 0 && dot == 0 && n >= 2 && isCode(s):
			return kindCode
		case under > 0 && upper > 0 && lower > 0 && isPrefixedID(s):
			return kindPrefixedID
		case !isWord(s):
			return kindOther
		case hyphen+under+dot >= 2 || n > maxWordLen:
			return kindSlug
		}
		return kindWord
	}
	// Letters and digits.
	switch {
	case hyphen == 4 && isUUID(s):
		return kindUUID
	case isDateTime(s):
		return kindDateTime
	case isVersion(s):
		return kindVersion
	case hyphen+under+dot == 0 && n >= 7 && isHex(s):
		return kindHex
	case under > 0 && isPrefixedID(s):
		return kindPrefixedID
	case hyphen > 0 && upper > 0 && lower == 0 && isKey(s):
		return kindKey
	case lower == 0 && hyphen == 0 && dot == 0 && s[0] >= 'A' && s[0] <= 'Z' && isCode(s):
		return kindCode
	case dot == 0 && n >= 12 && digits >= 2 && letters >= 2:
		return kindToken
	case dot == 0 && n >= 16 && upper > 0 && lower > 0:
		return kindToken
	}
	return kindMixed
}

// classifyDigits classifies a segment of digits and separators only.
func classifyDigits(s string, digits, hyphen, dot int) kind {
	switch {
	case hyphen == 0 && dot == 1 && s[0] != '.' && s[len(s)-1] != '.':
		return kindNumber
	case hyphen == 2 && dot == 0 && isDate(s):
		return kindDate
	case hyphen == 1 && dot == 0 && len(s) == 7 && isYearMonth(s):
		return kindDate
	case hyphen == 4 && isUUID(s):
		return kindUUID
	case dot == 3 && hyphen == 0 && isIPv4(s):
		return kindIP
	case digits >= 4:
		// Phone numbers, ranges, dotted versions: values, not names.
		return kindMixed
	}
	return kindOther
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isUpper(c byte) bool  { return c >= 'A' && c <= 'Z' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isWord reports whether s is letters joined by single '-', '_' or '.'.
func isWord(s string) bool {
	if !isLetter(s[0]) || !isLetter(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLetter(s[i]) && !isLetter(s[i-1]) {
			return false
		}
	}
	return true
}

// isCode reports whether s is capitals, digits and underscores starting
// with a capital: PROJ, USD, SUMMER25, MY_SECRET.
func isCode(s string) bool {
	if !isUpper(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isUpper(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// isUUID reports whether s is 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// isHex reports whether s is hex digits in one case with at least one digit
// and one letter ("deadbeef" is a word, "1234567" an integer).
func isHex(s string) bool {
	var digits, lower, upper int
	for i := range len(s) {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case c >= 'a' && c <= 'f':
			lower++
		case c >= 'A' && c <= 'F':
			upper++
		default:
			return false
		}
	}
	return digits > 0 && (lower > 0) != (upper > 0)
}

// isVersion reports whether s is an API version: v1, V2, v2.1, v1beta1, v3alpha.
func isVersion(s string) bool {
	if len(s) < 2 || len(s) > 12 || s[0] != 'v' && s[0] != 'V' || !isDigit(s[1]) {
		return false
	}
	i := 1
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == i+1 {
			return false
		}
		i = j
	}
	j := i
	for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
		j++
	}
	if j == i {
		return i == len(s)
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j == len(s)
}

// isPrefixedID reports whether s is a type prefix and a random part joined
// by '_': up to three lower-case words, then 8+ letters and digits with a
// digit, or 10+ in mixed case (cus_NffrFeUfNV2Hib, cs_test_a1B2c3D4,
// ord_3fa9c2d1e0b7, po_GkBhcwbGCHCYxi).
func isPrefixedID(s string) bool {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 || len(s)-i-1 < 8 {
		return false
	}
	prefix, rest := s[:i], s[i+1:]
	parts := 0
	for p := range strings.SplitSeq(prefix, "_") {
		parts++
		if len(p) == 0 || len(p) > 12 || parts > 3 {
			return false
		}
		for j := range len(p) {
			if p[j] < 'a' || p[j] > 'z' {
				return false
			}
		}
	}
	var digits, lower, upper int
	for j := range len(rest) {
		switch c := rest[j]; {
		case isDigit(c):
			digits++
		case c >= 'a' && c <= 'z':
			lower++
		case isUpper(c):
			upper++
		default:
			return false
		}
	}
	return digits > 0 || len(rest) >= 10 && lower > 0 && upper > 0
}

// isKey reports whether s is capitals and digits in '-'-joined groups with a
// group of digits: PROJ-123, SKU-12345-A.
func isKey(s string) bool {
	if !isUpper(s[0]) {
		return false
	}
	digitGroup := false
	for g := range strings.SplitSeq(s, "-") {
		if g == "" {
			return false
		}
		all := true
		for j := range len(g) {
			c := g[j]
			if !isDigit(c) {
				all = false
				if !isUpper(c) {
					return false
				}
			}
		}
		digitGroup = digitGroup || all
	}
	return digitGroup
}

// isDate reports whether s is YYYY-MM-DD with a plausible month and day.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	return isYearMonth(s[:7]) && digitsIn(s[8:10], 1, 31)
}

// isYearMonth reports whether s is YYYY-MM.
func isYearMonth(s string) bool {
	return len(s) == 7 && s[4] == '-' && digitsIn(s[:4], 1000, 9999) && digitsIn(s[5:7], 1, 12)
}

// isDateTime reports whether s is an ISO 8601 date, 'T' and a time, with ':'
// possibly percent-escaped.
func isDateTime(s string) bool {
	if len(s) < 13 || !isDate(s[:10]) || s[10] != 'T' && s[10] != 't' {
		return false
	}
	rest := strings.ReplaceAll(s[11:], "%3A", ":")
	rest = strings.ReplaceAll(rest, "%3a", ":")
	if len(rest) < 2 || !isDigit(rest[0]) || !isDigit(rest[1]) {
		return false
	}
	for i := 2; i < len(rest); i++ {
		c := rest[i]
		if !isDigit(c) && c != ':' && c != '.' && c != 'Z' && c != 'z' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// digitsIn reports whether s is all digits with a value in [lo, hi].
func digitsIn(s string, lo, hi int) bool {
	v := 0
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
		v = v*10 + int(s[i]-'0')
	}
	return len(s) > 0 && v >= lo && v <= hi
}

// isIPv4 reports whether s is a dotted quad of numbers 0-255.
func isIPv4(s string) bool {
	parts := 0
	for p := range strings.SplitSeq(s, ".") {
		parts++
		if len(p) == 0 || len(p) > 3 || !digitsIn(p, 0, 255) {
			return false
		}
	}
	return parts == 4
}

// isEmail reports whether s looks like local@domain.tld.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return false
	}
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || len(domain)-dot-1 < 2 {
		return false
	}
	for i := dot + 1; i < len(domain); i++ {
		if !isLetter(domain[i]) {
			return false
		}
	}
	return true
}
