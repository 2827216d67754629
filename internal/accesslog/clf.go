package accesslog

import "strings"

// clfShape locates the parts of a CLF line: the bracketed time and the
// opening quote of the request.
type clfShape struct {
	start  int // first byte of the line
	lb, rb int // '[' and ']' around $context.requestTime
	q1     int // '"' opening "METHOD path protocol"
}

// findCLF reports whether s has the shape of API Gateway's CLF presets:
// space-separated fields, then "[time]", then optional spaces and a quote.
// (The current REST preset has no space between "]" and the quote; older
// presets and the HTTP API preset have one.) A comma before the bracket
// means CSV, whose fields may contain brackets of their own.
func findCLF(s string, start int) (clfShape, bool) {
	lb := strings.IndexByte(s[start:], '[')
	if lb < 0 || strings.IndexByte(s[start:start+lb], ',') >= 0 {
		return clfShape{}, false
	}
	lb += start
	rb := strings.IndexByte(s[lb:], ']')
	if rb < 0 {
		return clfShape{}, false
	}
	rb += lb
	q1 := skipSpace(s, rb+1)
	if q1 == len(s) || s[q1] != '"' {
		return clfShape{}, false
	}
	return clfShape{start: start, lb: lb, rb: rb, q1: q1}, true
}

// parseCLF parses a line of the CLF presets:
//
//	REST: sourceIp caller user [requestTime]"httpMethod resourcePath protocol" status responseLength requestId extendedRequestId
//	HTTP: sourceIp - - [requestTime] "httpMethod routeKey protocol" status responseLength requestId extendedRequestId
//
// Older presets end at requestId, and some templates put extendedRequestId
// first; sourceIp is therefore taken as the third field before the bracket.
func parseCLF(s string, c clfShape, f *fields) error {
	var toks [16]span
	if n := splitSpaces(s, c.start, c.lb, toks[:]); n >= 3 {
		f.set(fSourceIP, toks[n-3].in(s), toks[n-3].start)
	} else if n > 0 {
		f.set(fSourceIP, toks[0].in(s), toks[0].start)
	}
	f.set(fRequestTime, s[c.lb+1:c.rb], c.lb+1)

	q2 := strings.IndexByte(s[c.q1+1:], '"')
	if q2 < 0 {
		return newError(s, FormatCLF, ErrMalformed, c.q1, "unterminated quoted request")
	}
	q2 += c.q1 + 1
	f.setRequest(s, splitSpaces(s, c.q1+1, q2, toks[:]), toks[:])

	f.setTail(s, toks[:splitSpaces(s, q2+1, len(s), toks[:4])])
	return nil
}

// setRequest stores the quoted request of a CLF line. With a route key it
// reads "GET GET /pets/{id} HTTP/1.1": the method, then the route key,
// which has a space of its own.
func (f *fields) setRequest(s string, n int, toks []span) {
	if n == 0 {
		return
	}
	f.set(fMethod, toks[0].in(s), toks[0].start)
	if n > 1 && strings.HasPrefix(toks[n-1].in(s), "HTTP/") {
		f.set(fProtocol, toks[n-1].in(s), toks[n-1].start)
		n--
	}
	if n > 1 {
		f.setTarget(s[toks[1].start:toks[n-1].end])
	}
}
