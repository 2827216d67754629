package accesslog

import (
	"strings"

	"github.com/gwtap/gwtap/internal/record"
)

// Format is the detected log format of a line.
type Format uint8

// The formats Parse detects. FormatUnknown is returned with ErrEmpty and
// ErrUnknownFormat.
const (
	FormatUnknown Format = iota
	FormatJSON
	FormatCLF
	FormatCSV
	FormatXML
)

// String returns "JSON", "CLF", "CSV", "XML" or "unknown", suitable as a
// metric dimension.
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "JSON"
	case FormatCLF:
		return "CLF"
	case FormatCSV:
		return "CSV"
	case FormatXML:
		return "XML"
	}
	return "unknown"
}

// Parse parses one access-log line (one CloudWatch log event message) into
// rec and returns the format it detected.
//
// It overwrites only the request fields of rec (ID, Time, Method, Host,
// Path, Template, Protocol, Stage, APIID, Status, IntegrationStatus,
// ResponseBytes, LatencyMs, IntegrationLatency, SourceIP, UserAgent, Error,
// IntegrationError, ResponseType), zeroing those the line does not log. The
// caller sets AppID, EventTime, LogGroup, LogStream, Account, and a fallback
// ID when rec.ID is empty.
//
// String fields are substrings of line, so rec keeps line alive; only JSON
// strings with escapes and XML text with entities are copied.
//
// The error is a *ParseError wrapping ErrEmpty, ErrUnknownFormat,
// ErrMalformed, ErrInvalidValue, ErrMissingMethod or ErrMissingPath. On
// error rec is left unchanged.
func Parse(line string, rec *record.Record) (Format, error) {
	start := skipSpace(line, 0)
	if start == len(line) {
		return FormatUnknown, newError(line, FormatUnknown, ErrEmpty, -1, "")
	}
	var f fields
	var format Format
	var err error
	switch line[start] {
	case '{':
		format = FormatJSON
		err = parseJSON(line, start, &f)
	case '<':
		format = FormatXML
		err = parseXML(line, start, &f)
	default:
		// CLF and CSV lines end where their last field ends: CloudWatch may
		// hand over a trailing newline, which would otherwise be taken as
		// part of that field.
		s := trimRightSpace(line)
		if clf, ok := findCLF(s, start); ok {
			format = FormatCLF
			err = parseCLF(s, clf, &f)
		} else if strings.IndexByte(s[start:], ',') >= 0 {
			format = FormatCSV
			err = parseCSV(s, start, &f)
		} else {
			return FormatUnknown, newError(line, FormatUnknown, ErrUnknownFormat, start,
				"not JSON, XML, CLF or CSV")
		}
	}
	if err == nil {
		err = f.build(line, format, rec)
	}
	return format, err
}

// build applies the rules that combine fields and writes the record. It
// fails when the line yields no method or no path.
func (f *fields) build(line string, format Format, rec *record.Record) error {
	template, routePath := f.template()
	path := f.path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	host := f.domainName
	apiID := f.apiID
	if id, ok := executeAPIID(host); ok {
		path = stripStage(path, f.stage)
		if apiID == "" {
			apiID = id
		}
	}
	if path == "" {
		// Only a template or route was logged (the console presets log
		// resourcePath or routeKey, not path): it is the best path there is,
		// even when greedy and so no template.
		path = routePath
	}

	method := f.method
	if method == "" {
		// A route key names the method unless it is ANY, which says nothing
		// about the request.
		if m, _, ok := strings.Cut(f.routeKey, " "); ok && m != "ANY" {
			method = m
		}
	}
	if method == "" {
		return newError(line, format, ErrMissingMethod, -1, "")
	}
	if path == "" {
		return newError(line, format, ErrMissingPath, -1, "")
	}
	method = upperASCII(method)

	var ts int64
	if f.epochMs != 0 {
		ts = f.epochMs
	} else if f.requestTime != "" {
		var ok bool
		if ts, ok = parseCLFTime(f.requestTime); !ok {
			return newError(line, format, ErrInvalidValue, f.requestTimeOff,
				"requestTime is not CLF time like "+clfTimeLayout)
		}
	}

	id := f.requestID
	if id == "" {
		// extendedRequestId is as unique as requestId, and the console
		// presets for REST APIs may log only one of the two.
		id = f.extendedRequestID
	}

	rec.ID = id
	rec.Time = ts
	rec.Method = method
	rec.Host = host
	rec.Path = path
	rec.Template = template
	rec.Protocol = f.protocol
	rec.Stage = f.stage
	rec.APIID = apiID
	rec.Status = int(f.status)
	rec.IntegrationStatus = int(f.integrationStatus)
	rec.ResponseBytes = f.responseLength
	rec.LatencyMs = f.latency
	rec.IntegrationLatency = f.integrationLatency
	rec.SourceIP = f.sourceIP
	rec.UserAgent = f.userAgent
	rec.Error = f.errorMessage
	rec.IntegrationError = f.integrationError
	rec.ResponseType = f.responseType
	return nil
}

// template returns the endpoint template of the line, from resourcePath or
// else from routeKey's path, and the raw route path it came from. A greedy
// route ({proxy+}) or $default matches any path, so it is no endpoint
// template: template is then empty while routePath may still serve as path.
func (f *fields) template() (template, routePath string) {
	routePath = f.resourcePath
	if routePath == "" {
		routePath = routeKeyPath(f.routeKey)
	}
	if strings.Contains(routePath, "+}") {
		return "", routePath
	}
	return routePath, routePath
}

// routeKeyPath returns the path of an HTTP API route key: "/pets/{id}" for
// "GET /pets/{id}", "" for "$default". A key without a method is taken as a
// bare path if it looks like one.
func routeKeyPath(key string) string {
	if _, p, ok := strings.Cut(key, " "); ok {
		return p
	}
	if strings.HasPrefix(key, "/") {
		return key
	}
	return ""
}

// executeAPIID reports whether host is a default execute-api endpoint,
// <id>.execute-api.<region>.amazonaws.com (or .amazonaws.com.cn, or a
// private API's <id>-<vpce-id>.execute-api.<region>.vpce.amazonaws.com),
// and returns the API id from its first label.
func executeAPIID(host string) (string, bool) {
	label, rest, ok := strings.Cut(host, ".")
	if !ok || label == "" || !hasPrefixFold(rest, "execute-api.") ||
		!(hasSuffixFold(rest, ".amazonaws.com") || hasSuffixFold(rest, ".amazonaws.com.cn")) {
		return "", false
	}
	if id, _, ok := strings.Cut(label, "-"); ok {
		return id, true // private API: <id>-<vpce-id>
	}
	return label, true
}

// stripStage removes the "/<stage>" prefix that $context.path carries on
// execute-api domains. $default is never in the path, and a prefix that is
// not the whole first segment ("/production" for stage "prod") is kept.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" || len(path) < len(stage)+1 ||
		path[0] != '/' || path[1:1+len(stage)] != stage {
		return path
	}
	rest := path[1+len(stage):]
	switch {
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	}
	return path
}

// upperASCII returns s in upper case, allocating only when s has lower-case
// letters (API Gateway logs methods upper-case already).
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring case (host names may be logged as the client typed them).
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && (s[:len(prefix)] == prefix || equalFoldASCII(s[:len(prefix)], prefix))
}

// hasSuffixFold is hasPrefixFold for a suffix.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && (s[len(s)-len(suffix):] == suffix || equalFoldASCII(s[len(s)-len(suffix):], suffix))
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space (which is also all the white space the other formats
// allow between fields).
func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func trimRightSpace(s string) string {
	end := len(s)
	for end > 0 && isSpace(s[end-1]) {
		end--
	}
	return s[:end]
}

// isSpace reports whether c is JSON white space. The first comparison
// settles the common case, a byte that is not.
func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r') }
