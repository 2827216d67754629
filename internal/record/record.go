package record

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/gwtap/gwtap/internal/swar"
)

// Record is one request seen by API Gateway. Zero values mean "not logged":
// the encoder omits them and a decoder must treat a missing field as unknown.
type Record struct {
	// ID is API Gateway's requestId, or a stable hash of the CloudWatch
	// coordinates of the log event (see FallbackID). The node deduplicates by
	// (AppID, ID), so every hop may deliver at least once.
	ID string `json:"id"`
	// AppID is the application id (X_WALLARM_APPLICATION_ID) the record is filed under.
	AppID string `json:"app,omitempty"`
	// Time is when API Gateway received the request, in Unix milliseconds.
	Time int64 `json:"ts,omitempty"`
	// EventTime is the CloudWatch log event's timestamp, in Unix milliseconds.
	EventTime int64 `json:"event_ts,omitempty"`

	Method string `json:"method,omitempty"`
	Host   string `json:"host,omitempty"`
	// Path is the concrete request path without the query string and, on
	// execute-api domains, without the stage prefix.
	Path string `json:"path,omitempty"`
	// Template is the route template API Gateway matched (resourcePath for
	// REST APIs, the path of routeKey for HTTP APIs). When present it is ground
	// truth for the inventory.
	Template string `json:"template,omitempty"`
	Protocol string `json:"proto,omitempty"`
	Stage    string `json:"stage,omitempty"`
	APIID    string `json:"api_id,omitempty"`

	Status             int   `json:"status,omitempty"`
	IntegrationStatus  int   `json:"integration_status,omitempty"`
	ResponseBytes      int64 `json:"resp_bytes,omitempty"`
	LatencyMs          int64 `json:"latency_ms,omitempty"`
	IntegrationLatency int64 `json:"integration_latency_ms,omitempty"`

	SourceIP  string `json:"source_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	// Error is $context.error.message; IntegrationError is
	// $context.integrationErrorMessage; ResponseType is $context.error.responseType.
	Error            string `json:"error,omitempty"`
	IntegrationError string `json:"integration_error,omitempty"`
	ResponseType     string `json:"response_type,omitempty"`

	LogGroup  string `json:"log_group,omitempty"`
	LogStream string `json:"log_stream,omitempty"`
	Account   string `json:"account,omitempty"`
}

// FallbackID returns the id of a log event that carries no requestId: a
// stable hash of where CloudWatch stored it, so redelivery of the same event
// yields the same id and the node can drop the duplicate.
func FallbackID(logGroup, logStream, eventID string) string {
	h := sha256.New()
	h.Write([]byte(logGroup))
	h.Write([]byte{0})
	h.Write([]byte(logStream))
	h.Write([]byte{0})
	h.Write([]byte(eventID))
	var sum [sha256.Size]byte
	return "cw-" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// AppendJSON appends r as one compact JSON object (no trailing newline) and
// returns the extended buffer. Field names and omission rules match the
// struct tags, so encoding/json decodes the output into an equal Record.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = appendStr(b, `,"app":`, r.AppID)
	b = appendInt(b, `,"ts":`, r.Time)
	b = appendInt(b, `,"event_ts":`, r.EventTime)
	b = appendStr(b, `,"method":`, r.Method)
	b = appendStr(b, `,"host":`, r.Host)
	b = appendStr(b, `,"path":`, r.Path)
	b = appendStr(b, `,"template":`, r.Template)
	b = appendStr(b, `,"proto":`, r.Protocol)
	b = appendStr(b, `,"stage":`, r.Stage)
	b = appendStr(b, `,"api_id":`, r.APIID)
	b = appendInt(b, `,"status":`, int64(r.Status))
	b = appendInt(b, `,"integration_status":`, int64(r.IntegrationStatus))
	b = appendInt(b, `,"resp_bytes":`, r.ResponseBytes)
	b = appendInt(b, `,"latency_ms":`, r.LatencyMs)
	b = appendInt(b, `,"integration_latency_ms":`, r.IntegrationLatency)
	b = appendStr(b, `,"source_ip":`, r.SourceIP)
	b = appendStr(b, `,"user_agent":`, r.UserAgent)
	b = appendStr(b, `,"error":`, r.Error)
	b = appendStr(b, `,"integration_error":`, r.IntegrationError)
	b = appendStr(b, `,"response_type":`, r.ResponseType)
	b = appendStr(b, `,"log_group":`, r.LogGroup)
	b = appendStr(b, `,"log_stream":`, r.LogStream)
	b = appendStr(b, `,"account":`, r.Account)
	return append(b, '}')
}

func appendStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, key...), v)
}

func appendInt(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so a record always encodes to valid JSON whatever the
// access log contained. <, > and & are escaped so the encoded record is safe
// to embed in HTML.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip plain ASCII eight bytes at a time: most of a record is.
		for i+8 <= len(s) {
			x := swar.LoadString(s, i)
			m := swar.Less(x, 0x20) | swar.NonASCII(x) | swar.Eq(x, '"') | swar.Eq(x, '\\') |
				swar.Eq(x, '<') | swar.Eq(x, '>') | swar.Eq(x, '&')
			if m != 0 {
				i += swar.First(m)
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
