package accesslog

import "strings"

// span is one field of a positional line (CLF or CSV): s[start:end].
type span struct{ start, end int }

func (sp span) in(s string) string { return s[sp.start:sp.end] }

// splitSpaces splits s[from:to] at runs of spaces into dst and returns how
// many fields it stored; fields past len(dst) are dropped.
func splitSpaces(s string, from, to int, dst []span) int {
	n := 0
	for i := from; i < to && n < len(dst); {
		for i < to && s[i] == ' ' {
			i++
		}
		if i == to {
			break
		}
		j := i
		for j < to && s[j] != ' ' {
			j++
		}
		dst[n] = span{i, j}
		n++
		i = j
	}
	return n
}

// setTarget stores the path field of a positional preset. It holds
// $context.resourcePath in the REST presets, $context.routeKey in the HTTP
// API presets, or $context.path when a user swapped it in, and the value
// itself tells which: a route key starts with a method or is $default, and
// only a template has braces.
func (f *fields) setTarget(v string) {
	switch {
	case v == "-":
	case v == "$default" || isRouteKey(v):
		f.routeKey = v
	case strings.IndexByte(v, '{') >= 0:
		f.resourcePath = v
	default:
		f.path = v
	}
}

// isRouteKey reports whether v looks like "GET /pets/{id}".
func isRouteKey(v string) bool {
	m, p, ok := strings.Cut(v, " ")
	return ok && isMethod(m) && strings.HasPrefix(p, "/")
}

// looksLikeTarget reports whether v can be the path field after a method.
func looksLikeTarget(v string) bool {
	return strings.HasPrefix(v, "/") || v == "$default" || isRouteKey(v)
}

// isMethod reports whether v is shaped like an HTTP method as API Gateway
// logs it: a short run of upper-case letters.
func isMethod(v string) bool {
	if len(v) == 0 || len(v) > 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 'A' || v[i] > 'Z' {
			return false
		}
	}
	return true
}

// looksLikeID reports whether a positional value can be a request id. The
// node deduplicates by id, so a status or a length that slid into the id's
// column of a customised format must not become one: every request would
// collapse into a few records. Request ids are UUIDs for REST APIs and 16
// base64 characters for HTTP APIs; neither is all digits.
func looksLikeID(v string) bool {
	if len(v) < 8 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return true
		}
	}
	return false
}

// setTail stores the fields that follow the request in both positional
// presets: status, responseLength, requestId and extendedRequestId. Custom
// templates drop or add columns here (no responseLength,
// $context.integrationErrorMessage at the end, a WAF status after the
// status), so each column is taken only if it has the shape of its field,
// and a column that does not fit is left out rather than rejected.
func (f *fields) setTail(s string, cols []span) {
	k := 0
	for _, fd := range [...]field{fStatus, fResponseLength} {
		if k < len(cols) && isCount(cols[k].in(s)) {
			f.set(fd, cols[k].in(s), cols[k].start)
			k++
		}
	}
	if k < len(cols) && looksLikeID(cols[k].in(s)) {
		f.requestID = cols[k].in(s)
		k++
		if k < len(cols) && looksLikeID(cols[k].in(s)) {
			f.extendedRequestID = cols[k].in(s)
		}
	}
}

// isCount reports whether v is a status or length: digits, or "-".
func isCount(v string) bool {
	if v == "-" {
		return true
	}
	if len(v) == 0 || len(v) > 18 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return false
		}
	}
	return true
}
