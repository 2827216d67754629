package protocol

// Paths served by a node.
const (
	// RecordsPath accepts batches of records (POST).
	RecordsPath = "/v1/records"
	// HealthPath answers liveness and readiness probes (GET).
	HealthPath = "/healthz"
)

// Request headers.
const (
	HeaderContentType     = "Content-Type"
	HeaderContentEncoding = "Content-Encoding"
	HeaderAuthorization   = "Authorization"
	// HeaderIdempotencyKey is stable across retries of the same batch, so a
	// node may answer a retried batch from its first outcome.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderApplicationID carries the application id the batch is filed
	// under; records without their own "app" field inherit it.
	HeaderApplicationID = "X-Gwtap-Application-Id"
	// HeaderRecordCount states how many records the body holds, so a node
	// can refuse an oversized batch before decoding it.
	HeaderRecordCount = "X-Gwtap-Record-Count"
	HeaderRetryAfter  = "Retry-After"
	HeaderUserAgent   = "User-Agent"
)

// Content types and encodings.
const (
	ContentTypeNDJSON = "application/x-ndjson"
	ContentTypeJSON   = "application/json"
	EncodingGzip      = "gzip"
	EncodingZstd      = "zstd"
	EncodingIdentity  = "identity"
)

// Limits every node accepts at least; a sender never exceeds them.
const (
	// MaxRecordsPerBatch is the most records one request may carry.
	MaxRecordsPerBatch = 10000
	// MaxBodyBytes is the largest decoded (uncompressed) request body.
	MaxBodyBytes = 16 << 20
	// MaxRecordBytes is the longest single NDJSON line.
	MaxRecordBytes = 64 << 10
)

// Response is the JSON body of a 200 answer to POST /v1/records. Every
// record of the batch is in exactly one of: accepted, duplicates, rejected.
type Response struct {
	// Accepted counts records stored for the first time.
	Accepted int `json:"accepted"`
	// Duplicates counts records the node already had (same application
	// and record id); they are not an error.
	Duplicates int `json:"duplicates"`
	// Rejected lists records the node will never accept, by their index
	// (0-based line number in the batch). The sender must not retry them.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is one record the node refused permanently.
type Rejection struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// ErrorBody is the JSON body of every non-200 answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Health is the JSON body of GET /healthz.
type Health struct {
	Status  string `json:"status"` // "ok" or "degraded"
	Version string `json:"version,omitempty"`
	// Records is how many records the node holds, when it knows cheaply.
	Records int64 `json:"records,omitempty"`
}
