// Package accesslog parses Amazon API Gateway access-log lines into gwtap
// records. It is the hot path of ingest: Parse scans each line once, by
// hand, and fills the record with substrings of the line, so a line costs no
// allocation unless a JSON value has escapes.
//
// # Formats
//
// The format is detected per line, from its first non-space byte and shape:
//
//   - '{': JSON. The vendor seed's format (requestId, httpMethod, path,
//     protocol, status, responseLength, requestTime, requestTimeEpoch,
//     responseLatency, integrationLatency, integrationStatus, errorMessage,
//     stage, domainName, sourceIp, userAgent), the console presets for REST
//     APIs (ip, resourcePath, …) and HTTP APIs (ip, routeKey, …), and the
//     variables users commonly add: resourcePath, routeKey, apiId,
//     extendedRequestId, integrationErrorMessage, responseType.
//   - '<': XML, the console presets: <request id="…"> with one child element
//     per variable, named like the JSON keys.
//   - a bracketed time followed by a quoted request: CLF, the console presets
//     for REST APIs,
//     sourceIp caller user [$context.requestTime]"httpMethod resourcePath protocol" status responseLength requestId extendedRequestId,
//     and for HTTP APIs, where the route key brings its own method,
//     sourceIp - - [$context.requestTime] "httpMethod routeKey protocol" status responseLength requestId extendedRequestId.
//   - otherwise, with a comma: CSV, the console presets in the same order as
//     CLF.
//
// Older presets without extendedRequestId are accepted too. In XML, values
// are taken as API Gateway writes them, unescaped: an element's text runs to
// its own closing tag; entities are decoded when present.
//
// # JSON keys and values
//
// Users name keys freely, so keys are matched ASCII case-insensitively with
// '_', '-', '.' and ' ' ignored: requestId, request_id and RequestID are one
// key, and so are "error.message", "errorMessage" and
// {"error": {"message": …}} (objects named error, identity and integration
// are read one level deep). Accepted spellings, normalized:
//
//	id                 requestid; extendedrequestid when requestid is absent
//	method             httpmethod, method, requestmethod
//	path               path, requestpath
//	template           resourcepath; routekey, route
//	protocol           protocol, proto
//	stage, api id      stage, stagename; apiid
//	host               domainname, domain, host
//	source ip          sourceip, ip, identitysourceip, clientip
//	user agent         useragent, identityuseragent
//	error              errormessage, error, errormessagestring
//	integration error  integrationerrormessage, integrationerror
//	response type      responsetype, errorresponsetype
//	time               requesttimeepoch, requesttime
//	status             status, statuscode, httpstatus
//	integration status integrationstatus, integrationintegrationstatus
//	response bytes     responselength, responsebytes
//	latency            responselatency, latency; integrationlatency
//
// Other keys are skipped, objects and arrays included (domainPrefix too: on
// a custom domain it is not the API id). Duplicate keys: the last wins, also
// between spellings of one field. Values may be strings, numbers or null;
// "-" (API Gateway's "no value"), "" and null mean absent. Numeric fields
// take integers as numbers or strings, and truncate a fraction. Escapes are
// decoded like encoding/json does (a lone surrogate becomes U+FFFD); invalid
// UTF-8 passes through, for the record encoder to replace.
//
// # Rules
//
//   - A line is accepted when it yields a method and a path (or a template,
//     which then also serves as path); everything else is optional.
//   - Path: the query string is cut off. On execute-api domains
//     (<id>.execute-api.<region>.amazonaws.com, also .amazonaws.com.cn and
//     private APIs' <id>-<vpce>.execute-api.…) $context.path starts with
//     "/<stage>", which is stripped when it matches the logged stage, unless
//     the stage is $default. Custom-domain paths are kept as they are.
//   - Template: resourcePath, else the path of routeKey ("GET /pets/{id}" →
//     "/pets/{id}"). $default and greedy routes ("/{proxy+}", "ANY
//     /{proxy+}", "/api/{proxy+}") match any path and give no template. In
//     CLF and CSV lines the path field is whatever the template logged: a
//     value with braces is a template (Template and Path), a route key is a
//     route, anything else a concrete path.
//   - Method: as logged, upper-cased if it is not already. Without one, a
//     route key's method is used unless it is ANY.
//   - Time: requestTimeEpoch (Unix ms; seconds, with or without a fraction,
//     when below 1e11) is preferred to requestTime (CLF time).
//   - API id: apiId, else the first label of an execute-api domain.
//   - CLF and CSV are positional. In CSV the request is found by its shape
//     (a method column followed by a path or route column), the time is the
//     CLF-time column before it and the source IP the first column, so extra
//     leading columns do not shift anything. After the request, in both
//     formats, each column is taken only if it has the shape of the next
//     preset field (status and length: digits or "-"; request ids: at least
//     eight characters, not all digits), so a customised tail leaves fields
//     empty instead of filling them wrongly. A wrong id would be worst: the
//     node deduplicates by id.
//
// # Errors
//
// A rejected line yields a *ParseError that wraps one of ErrEmpty,
// ErrUnknownFormat, ErrMalformed, ErrInvalidValue, ErrMissingMethod and
// ErrMissingPath, with the byte offset of the problem and a short excerpt of
// the line, so callers can count rejects by reason and log a few samples.
package accesslog
