package accesslog

import "strings"

// maxCSVColumns bounds the columns parseCSV looks at; the presets have 11 at
// most, and columns past this bound are ignored.
const maxCSVColumns = 32

// parseCSV parses a line of the CSV presets:
//
//	REST: sourceIp,caller,user,requestTime,httpMethod,resourcePath,protocol,status,responseLength,requestId,extendedRequestId
//	HTTP: sourceIp,requestTime,httpMethod,routeKey,protocol,status,responseLength,requestId,extendedRequestId
//
// (older presets end at requestId). Rather than trusting column numbers,
// it anchors on the first column that is an HTTP method followed by a path
// or route, so extra leading columns (caller, user, a user agent with
// commas) do not shift the rest; the columns after it are read as setTail
// describes. Values are not quoted by API Gateway, but a column wrapped in
// double quotes is unwrapped.
func parseCSV(s string, start int, f *fields) error {
	var cols [maxCSVColumns]span
	n := splitCSV(s, start, cols[:])

	m := -1
	for j := 0; j+1 < n; j++ {
		if isMethod(cols[j].in(s)) && looksLikeTarget(cols[j+1].in(s)) {
			m = j
			break
		}
	}
	if m < 0 {
		return newError(s, FormatCSV, ErrMissingMethod, -1, "no column holds a method followed by a path or route")
	}
	f.set(fMethod, cols[m].in(s), cols[m].start)
	f.setTarget(cols[m+1].in(s))

	// The time sits right before the method in both presets, the source IP
	// in the first column.
	for j := m - 1; j >= 0; j-- {
		if v := cols[j].in(s); looksLikeCLFTime(v) {
			f.set(fRequestTime, v, cols[j].start)
			break
		}
	}
	if m > 0 && !looksLikeCLFTime(cols[0].in(s)) {
		f.set(fSourceIP, cols[0].in(s), cols[0].start)
	}

	k := m + 2
	if k < n && strings.HasPrefix(cols[k].in(s), "HTTP/") {
		f.set(fProtocol, cols[k].in(s), cols[k].start)
		k++
	}
	f.setTail(s, cols[k:n])
	return nil
}

// splitCSV splits s[start:] at commas into dst and returns how many columns
// it stored. A column that starts with a double quote runs to the next
// quote that is followed by a comma or the end, and loses its quotes.
func splitCSV(s string, start int, dst []span) int {
	n := 0
	for i := start; n < len(dst); {
		if i < len(s) && s[i] == '"' {
			if end := closingQuote(s, i+1); end >= 0 {
				dst[n] = span{i + 1, end}
				n++
				i = end + 1
				if i >= len(s) {
					break
				}
				i++ // the comma
				continue
			}
		}
		j := strings.IndexByte(s[i:], ',')
		if j < 0 {
			dst[n] = span{i, len(s)}
			n++
			break
		}
		dst[n] = span{i, i + j}
		n++
		i += j + 1
	}
	return n
}

// closingQuote returns the index of the quote that closes a quoted CSV
// column whose content starts at s[i], or -1.
func closingQuote(s string, i int) int {
	for {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		if i+1 == len(s) || s[i+1] == ',' {
			return i
		}
		i++
	}
}

// looksLikeCLFTime reports whether v has the fixed shape of
// $context.requestTime; parseCLFTime checks the digits later.
func looksLikeCLFTime(v string) bool {
	return len(v) == len(clfTimeLayout) && v[2] == '/' && v[6] == '/' && v[11] == ':' && v[20] == ' '
}
