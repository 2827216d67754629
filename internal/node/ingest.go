package node

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
)

// Rejection reasons beyond protocol's.
const (
	// ReasonMissingMethod: the record has no "method".
	ReasonMissingMethod = "missing_method"
	// ReasonMissingPath: the record has no "path".
	ReasonMissingPath = "missing_path"
)

// Bounds on record values; anything outside is not an API Gateway request.
const (
	maxIDLen      = 256
	maxAppLen     = 256
	maxHostLen    = 255
	maxMethodLen  = 32
	maxPathLen    = 8192
	maxLatencyMs  = 24 * 60 * 60 * 1000
	maxRespBytes  = 1 << 40
	futureSlackMs = 7 * 24 * 60 * 60 * 1000
)

// minTimeMs is 2005-01-01: no access log is older.
var minTimeMs = time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// rawSlack lets a compressed body of incompressible data be a little larger
// than the decoded limit.
const rawSlack = protocol.MaxBodyBytes / 64

// Retry-After values, in seconds.
const (
	retryOverloaded = "1"
	retryStopping   = "5"
)

var (
	bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
	zstdPool sync.Pool // *zstd.Decoder
)

// errBodyTooLarge means the decoded body passed protocol.MaxBodyBytes.
var errBodyTooLarge = errors.New("body too large")

// badBody is a body that cannot be decoded; the message is safe for clients.
type badBody struct{ msg string }

func (e *badBody) Error() string { return e.msg }

func (n *Node) handleRecords(w http.ResponseWriter, r *http.Request) {
	if n.draining.Load() {
		n.retryLater(w, retryStopping, "the node is shutting down")
		return
	}
	if !n.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gwtap"`)
		n.fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	if ct := r.Header.Get(protocol.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedMediaType(mt) {
			n.fail(w, http.StatusUnsupportedMediaType, "content type must be "+protocol.ContentTypeNDJSON)
			return
		}
	}
	encoding := strings.ToLower(strings.TrimSpace(r.Header.Get(protocol.HeaderContentEncoding)))
	switch encoding {
	case "", protocol.EncodingIdentity, protocol.EncodingGzip, "x-gzip", protocol.EncodingZstd:
	default:
		n.fail(w, http.StatusUnsupportedMediaType, "content encoding must be gzip, zstd or identity")
		return
	}
	declared := -1
	if v := r.Header.Get(protocol.HeaderRecordCount); v != "" {
		c, err := strconv.Atoi(v)
		switch {
		case err != nil || c < 0:
			n.fail(w, http.StatusBadRequest, protocol.HeaderRecordCount+" must be a non-negative integer")
			return
		case c > protocol.MaxRecordsPerBatch:
			n.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("at most %d records per batch", protocol.MaxRecordsPerBatch))
			return
		}
		declared = c
	}
	app := r.Header.Get(protocol.HeaderApplicationID)
	if len(app) > maxAppLen || !utf8.ValidString(app) || hasControl(app) {
		n.fail(w, http.StatusBadRequest, protocol.HeaderApplicationID+" is not a valid application id")
		return
	}

	select {
	case n.batches <- struct{}{}:
		defer func() { <-n.batches }()
	default:
		n.retryLater(w, retryOverloaded, "too many batches in flight")
		return
	}

	body := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if body.Cap() <= 4<<20 {
			body.Reset()
			bodyPool.Put(body)
		}
	}()
	body.Reset()
	if err := readBody(body, http.MaxBytesReader(w, r.Body, protocol.MaxBodyBytes+rawSlack), encoding); err != nil {
		var tooLarge *http.MaxBytesError
		var bad *badBody
		switch {
		case errors.As(err, &tooLarge), errors.Is(err, errBodyTooLarge):
			n.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the decoded body exceeds %d bytes", protocol.MaxBodyBytes))
		case errors.As(err, &bad):
			n.fail(w, http.StatusBadRequest, bad.msg)
		default:
			n.log.Debug("reading a batch", "error", err)
			n.fail(w, http.StatusBadRequest, "could not read the request body")
		}
		return
	}

	lines := protocol.SplitLines(body.Bytes())
	if len(lines) > protocol.MaxRecordsPerBatch {
		n.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("at most %d records per batch", protocol.MaxRecordsPerBatch))
		return
	}
	if declared >= 0 && declared != len(lines) {
		n.fail(w, http.StatusBadRequest, fmt.Sprintf("%s is %d but the body holds %d records", protocol.HeaderRecordCount, declared, len(lines)))
		return
	}

	resp := protocol.Response{}
	recs := make([]record.Record, 0, len(lines))
	nowMs := n.cfg.Now().UnixMilli()
	var firstDetail string
	for i, line := range lines {
		rec, reason, detail := decodeRecord(line, nowMs)
		if reason != "" {
			resp.Rejected = append(resp.Rejected, protocol.Rejection{Index: i, ID: rejectedID(rec.ID), Reason: reason})
			if firstDetail == "" {
				firstDetail = detail
			}
			continue
		}
		if rec.AppID == "" {
			rec.AppID = app
		}
		recs = append(recs, rec)
	}

	res, err := n.store.Append(r.Context(), recs)
	if err != nil {
		n.appendFailed(w, r, err)
		return
	}
	n.storeErr.Store(false)
	fresh := recs[:0]
	for i := range recs {
		if res.New[i] {
			fresh = append(fresh, recs[i])
		}
	}
	n.disc.Add(fresh...)

	resp.Accepted = res.Accepted
	resp.Duplicates = res.Duplicates()
	n.counters.batches.Add(1)
	n.counters.received.Add(int64(len(lines)))
	n.counters.accepted.Add(int64(resp.Accepted))
	n.counters.duplicates.Add(int64(resp.Duplicates))
	n.counters.rejected.Add(int64(len(resp.Rejected)))
	if len(resp.Rejected) > 0 {
		n.log.Info("rejected records", "batch_records", len(lines), "rejected", len(resp.Rejected),
			"first_index", resp.Rejected[0].Index, "first_reason", resp.Rejected[0].Reason, "first_detail", firstDetail)
	}
	n.writeJSON(w, http.StatusOK, resp)
}

// appendFailed answers a batch the store did not take.
func (n *Node) appendFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, inventory.ErrOverloaded):
		n.retryLater(w, retryOverloaded, "the store is overloaded")
	case errors.Is(err, inventory.ErrClosed):
		n.retryLater(w, retryStopping, "the node is shutting down")
	case r.Context().Err() != nil:
		// The sender gave up; it will send the batch again.
		n.log.Debug("sender went away while its batch was stored", "error", err)
	default:
		n.storeErr.Store(true)
		n.log.Error("storing a batch", "error", err)
		n.retryLater(w, retryStopping, "the store failed; try again")
	}
}

// authorized reports whether r carries the configured bearer token. The
// comparison is of SHA-256 sums in constant time, so neither the token nor
// its length leaks through timing.
func (n *Node) authorized(r *http.Request) bool {
	if n.cfg.Token == "" {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get(protocol.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], n.tokenSum[:]) == 1
}

func acceptedMediaType(mt string) bool {
	switch mt {
	case protocol.ContentTypeNDJSON, "application/jsonl", "application/x-jsonlines", "application/json", "text/plain":
		return true
	}
	return false
}

// readBody decodes the request body into dst, up to MaxBodyBytes.
func readBody(dst *bytes.Buffer, raw io.Reader, encoding string) error {
	src := raw
	switch encoding {
	case protocol.EncodingGzip, "x-gzip":
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(raw)
		} else {
			err = zr.Reset(raw)
		}
		if err != nil {
			return gzipError(err)
		}
		defer gzipPool.Put(zr)
		src = zr
	case protocol.EncodingZstd:
		zr, _ := zstdPool.Get().(*zstd.Decoder)
		var err error
		if zr == nil {
			zr, err = zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(protocol.MaxBodyBytes),
				zstd.WithDecoderMaxWindow(protocol.MaxBodyBytes))
		} else {
			err = zr.Reset(raw)
		}
		if err != nil {
			return zstdError(err)
		}
		defer func() {
			// Drop the reference to this request's body before pooling.
			if zr.Reset(nil) == nil {
				zstdPool.Put(zr)
			}
		}()
		src = zr
	}
	_, err := dst.ReadFrom(io.LimitReader(src, protocol.MaxBodyBytes+1))
	if err == nil && dst.Len() > protocol.MaxBodyBytes {
		return errBodyTooLarge
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil, errors.As(err, &tooLarge):
		return err
	case encoding == protocol.EncodingGzip || encoding == "x-gzip":
		return gzipError(err)
	case encoding == protocol.EncodingZstd:
		return zstdError(err)
	}
	return err
}

func gzipError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return &badBody{msg: "the body is not valid gzip: " + err.Error()}
}

func zstdError(err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrFrameSizeExceeded):
		return errBodyTooLarge
	}
	return &badBody{msg: "the body is not valid zstd: " + err.Error()}
}

// decodeRecord parses and checks one line. On rejection it returns the
// reason (for the sender) and a detail (for the node's log); rec holds
// whatever was decoded, its ID in particular.
func decodeRecord(line []byte, nowMs int64) (rec record.Record, reason, detail string) {
	if len(line) > protocol.MaxRecordBytes {
		return rec, protocol.ReasonRecordTooLarge, fmt.Sprintf("line of %d bytes", len(line))
	}
	if !utf8.Valid(line) {
		return rec, protocol.ReasonInvalidJSON, "invalid UTF-8"
	}
	if line[0] != '{' {
		return rec, protocol.ReasonInvalidJSON, "not a JSON object"
	}
	if decodeFast(line, &rec) {
		reason, detail = check(&rec, nowMs)
		return rec, reason, detail
	}
	rec = record.Record{}
	if err := json.Unmarshal(line, &rec); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return rec, protocol.ReasonInvalidField, fmt.Sprintf("field %s: %s is not %s", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return rec, protocol.ReasonInvalidJSON, err.Error()
	}
	reason, detail = check(&rec, nowMs)
	return rec, reason, detail
}

// check returns why rec cannot be an API Gateway request, or "".
func check(rec *record.Record, nowMs int64) (reason, detail string) {
	invalid := func(format string, args ...any) (string, string) {
		return protocol.ReasonInvalidField, fmt.Sprintf(format, args...)
	}
	switch {
	case rec.ID == "":
		return protocol.ReasonMissingID, "no id"
	case len(rec.ID) > maxIDLen || hasControl(rec.ID):
		return invalid("id of %d bytes or with control characters", len(rec.ID))
	case len(rec.AppID) > maxAppLen || hasControl(rec.AppID):
		return invalid("app of %d bytes or with control characters", len(rec.AppID))
	case rec.Method == "":
		return ReasonMissingMethod, "no method"
	case len(rec.Method) > maxMethodLen || !isToken(rec.Method):
		return invalid("method %q", rec.Method)
	case rec.Path == "":
		return ReasonMissingPath, "no path"
	case rec.Path[0] != '/' || len(rec.Path) > maxPathLen:
		return invalid("path of %d bytes not starting with /", len(rec.Path))
	case len(rec.Template) > maxPathLen:
		return invalid("template of %d bytes", len(rec.Template))
	case len(rec.Host) > maxHostLen || !isHost(rec.Host):
		return invalid("host %q", rec.Host)
	case !validStatus(rec.Status):
		return invalid("status %d", rec.Status)
	case !validStatus(rec.IntegrationStatus):
		return invalid("integration_status %d", rec.IntegrationStatus)
	case rec.ResponseBytes < 0 || rec.ResponseBytes > maxRespBytes:
		return invalid("resp_bytes %d", rec.ResponseBytes)
	case rec.LatencyMs < 0 || rec.LatencyMs > maxLatencyMs:
		return invalid("latency_ms %d", rec.LatencyMs)
	case rec.IntegrationLatency < 0 || rec.IntegrationLatency > maxLatencyMs:
		return invalid("integration_latency_ms %d", rec.IntegrationLatency)
	case !validTime(rec.Time, nowMs):
		return invalid("ts %d", rec.Time)
	case !validTime(rec.EventTime, nowMs):
		return invalid("event_ts %d", rec.EventTime)
	}
	return "", ""
}

func validStatus(s int) bool { return s == 0 || s >= 100 && s <= 599 }

func validTime(ms, nowMs int64) bool {
	return ms == 0 || ms >= minTimeMs && ms <= nowMs+futureSlackMs
}

// isToken reports whether s is an HTTP method token (RFC 9110).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// isHost reports whether s can be a host name, with an optional port: no
// spaces, slashes or control characters, ASCII only.
func isHost(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

// rejectedID returns id for a rejection, unless it is too odd to echo.
func rejectedID(id string) string {
	if len(id) > maxIDLen || hasControl(id) || !utf8.ValidString(id) {
		return ""
	}
	return id
}
