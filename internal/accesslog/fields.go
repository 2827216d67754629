package accesslog

// field is a record field a log key or element can fill.
type field uint8

const (
	fNone field = iota // not a field gwtap keeps: the value is skipped
	fRequestID
	fExtendedRequestID
	fMethod
	fPath
	fResourcePath
	fRouteKey
	fProtocol
	fStage
	fAPIID
	fDomainName
	fSourceIP
	fUserAgent
	fErrorMessage
	fIntegrationError
	fResponseType
	fRequestTime
	fRequestTimeEpoch
	fStatus
	fIntegrationStatus
	fResponseLength
	fLatency
	fIntegrationLatency
)

// maxKey bounds a normalized key (prefix included). Every known spelling
// is far shorter, so a longer key is simply unknown.
const maxKey = 48

// lookup returns the field a key fills. prefix is the normalized name of
// the object the key sits in ("error" for {"error": {"message": …}}), or "".
//
// Users name keys freely, so keys are compared normalized: ASCII lower case
// without '_', '-', '.' and ' '. That one rule accepts requestId,
// request_id and RequestID, and makes "error.message", "errorMessage" and
// {"error": {"message": …}} the same key.
func lookup(prefix, key string) field {
	if prefix == "" {
		// Fast path: most lines use the spellings of the vendor seed and
		// of API Gateway's console presets, and a switch on the raw key is
		// cheaper than normalizing it first.
		switch key {
		case "requestId":
			return fRequestID
		case "extendedRequestId":
			return fExtendedRequestID
		case "httpMethod":
			return fMethod
		case "path":
			return fPath
		case "resourcePath":
			return fResourcePath
		case "routeKey":
			return fRouteKey
		case "protocol":
			return fProtocol
		case "stage":
			return fStage
		case "apiId":
			return fAPIID
		case "domainName":
			return fDomainName
		case "sourceIp", "ip":
			return fSourceIP
		case "userAgent":
			return fUserAgent
		case "errorMessage":
			return fErrorMessage
		case "integrationErrorMessage":
			return fIntegrationError
		case "requestTime":
			return fRequestTime
		case "requestTimeEpoch":
			return fRequestTimeEpoch
		case "status":
			return fStatus
		case "integrationStatus":
			return fIntegrationStatus
		case "responseLength":
			return fResponseLength
		case "responseLatency":
			return fLatency
		case "integrationLatency":
			return fIntegrationLatency
		}
	}
	var buf [maxKey]byte
	n := copy(buf[:], prefix)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-' || c == '.' || c == ' ':
			continue
		}
		if n == len(buf) {
			return fNone
		}
		buf[n] = c
		n++
	}
	return lookupNormalized(string(buf[:n]))
}

// lookupNormalized maps every accepted spelling, normalized as lookup
// describes, to its field. The "identity…", "integration…" and "error…"
// forms are the $context variable names, which users often reuse as keys.
func lookupNormalized(key string) field {
	switch key {
	case "requestid":
		return fRequestID
	case "extendedrequestid":
		return fExtendedRequestID
	case "httpmethod", "method", "requestmethod":
		return fMethod
	case "path", "requestpath":
		return fPath
	case "resourcepath":
		return fResourcePath
	case "routekey", "route":
		return fRouteKey
	case "protocol", "proto":
		return fProtocol
	case "stage", "stagename":
		return fStage
	case "apiid":
		return fAPIID
	case "domainname", "domain", "host":
		return fDomainName
	case "sourceip", "ip", "identitysourceip", "clientip":
		return fSourceIP
	case "useragent", "identityuseragent":
		return fUserAgent
	case "errormessage", "error", "errormessagestring":
		return fErrorMessage
	case "integrationerrormessage", "integrationerror":
		return fIntegrationError
	case "responsetype", "errorresponsetype":
		return fResponseType
	case "requesttime":
		return fRequestTime
	case "requesttimeepoch":
		return fRequestTimeEpoch
	case "status", "statuscode", "httpstatus":
		return fStatus
	case "integrationstatus", "integrationintegrationstatus":
		return fIntegrationStatus
	case "responselength", "responsebytes":
		return fResponseLength
	case "responselatency", "latency":
		return fLatency
	case "integrationlatency":
		return fIntegrationLatency
	}
	return fNone
}

// nestPrefix returns the prefix under which the members of an object value
// of key are looked up, or "" when such an object is skipped. Only the
// $context groups users nest are followed: {"error": {"message": …}},
// {"identity": {"sourceIp": …}}, {"integration": {"status": …}}.
func nestPrefix(key string) string {
	switch len(key) {
	case len("error"):
		if equalFoldASCII(key, "error") {
			return "error"
		}
	case len("identity"):
		if equalFoldASCII(key, "identity") {
			return "identity"
		}
	case len("integration"):
		if equalFoldASCII(key, "integration") {
			return "integration"
		}
	}
	return ""
}

// fields holds what one line says, before build turns it into a record.
// Collecting first lets Parse leave the record untouched when it rejects a
// line, and lets every format share the rules that combine fields (epoch
// over requestTime, stage prefix, templates).
type fields struct {
	requestID, extendedRequestID string
	method, path, resourcePath   string
	routeKey, protocol, stage    string
	apiID, domainName            string
	sourceIP, userAgent          string
	errorMessage                 string
	integrationError             string
	responseType                 string

	requestTime    string // CLF time, parsed only when there is no epoch
	requestTimeOff int    // offset of requestTime in the line, for errors
	epochMs        int64  // requestTimeEpoch in Unix ms; 0 when absent

	status, integrationStatus int64
	responseLength            int64
	latency                   int64
	integrationLatency        int64
}

// set stores the value of fd. v is a decoded string or the text of a JSON
// number; "" and "-" (API Gateway's "no value") clear the field, so the last
// of duplicate keys wins even when it is absent. It reports false when a
// numeric field gets something that is not a number.
func (f *fields) set(fd field, v string, off int) bool {
	if v == "-" {
		v = ""
	}
	switch fd {
	case fRequestID:
		f.requestID = v
	case fExtendedRequestID:
		f.extendedRequestID = v
	case fMethod:
		f.method = v
	case fPath:
		f.path = v
	case fResourcePath:
		f.resourcePath = v
	case fRouteKey:
		f.routeKey = v
	case fProtocol:
		f.protocol = v
	case fStage:
		f.stage = v
	case fAPIID:
		f.apiID = v
	case fDomainName:
		f.domainName = v
	case fSourceIP:
		f.sourceIP = v
	case fUserAgent:
		f.userAgent = v
	case fErrorMessage:
		f.errorMessage = v
	case fIntegrationError:
		f.integrationError = v
	case fResponseType:
		f.responseType = v
	case fRequestTime:
		f.requestTime, f.requestTimeOff = v, off
	case fRequestTimeEpoch:
		if v == "" {
			f.epochMs = 0
			return true
		}
		var ok bool
		f.epochMs, ok = parseEpochMs(v)
		return ok
	case fStatus:
		return setNum(&f.status, v)
	case fIntegrationStatus:
		return setNum(&f.integrationStatus, v)
	case fResponseLength:
		return setNum(&f.responseLength, v)
	case fLatency:
		return setNum(&f.latency, v)
	case fIntegrationLatency:
		return setNum(&f.integrationLatency, v)
	}
	return true
}

// setNum stores the number v in dst; "" is 0, the absent value.
func setNum(dst *int64, v string) bool {
	if v == "" {
		*dst = 0
		return true
	}
	var ok bool
	*dst, ok = parseNumber(v)
	return ok
}

func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
