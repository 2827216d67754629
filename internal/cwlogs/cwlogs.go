package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// MessageType values CloudWatch Logs sends.
const (
	// DataMessage carries log events.
	DataMessage = "DATA_MESSAGE"
	// ControlMessage is CloudWatch checking that the destination is reachable;
	// it carries no log events and must be acknowledged and ignored.
	ControlMessage = "CONTROL_MESSAGE"
)

// Default limits. A CloudWatch subscription delivers at most about 1 MiB of
// log events per invocation (the PutLogEvents batch limit), so 64 MiB of
// decompressed JSON is far beyond anything legitimate while still fitting a
// 128 MB function.
const (
	DefaultMaxDecompressed = 64 << 20
	DefaultMaxLine         = 1 << 20
)

// Errors returned by Decode. Each is wrapped with detail; test with errors.Is.
var (
	// ErrBase64 means awslogs.data is not valid standard base64.
	ErrBase64 = errors.New("awslogs.data is not valid base64")
	// ErrGzip means the decoded bytes are not a valid gzip stream.
	ErrGzip = errors.New("awslogs.data is not a valid gzip stream")
	// ErrTooLarge means the decompressed payload exceeds Limits.MaxDecompressed.
	ErrTooLarge = errors.New("decompressed payload exceeds the size limit")
	// ErrJSON means the decompressed payload is not the JSON document
	// CloudWatch Logs sends.
	ErrJSON = errors.New("payload is not a CloudWatch Logs subscription document")
)

// Limits bounds what Decode accepts.
type Limits struct {
	// MaxDecompressed is the largest decompressed payload, in bytes.
	MaxDecompressed int
	// MaxLine is the longest log event message, in bytes after unescaping.
	// Longer events are counted in Payload.Oversized and left out.
	MaxLine int
}

// LogEvent is one log event: for API Gateway, one access-log line.
type LogEvent struct {
	ID        string
	Timestamp int64 // Unix milliseconds
	Message   string
}

// Payload is a decoded subscription delivery.
type Payload struct {
	MessageType         string
	Owner               string // the AWS account id that owns the log group
	LogGroup            string
	LogStream           string
	SubscriptionFilters []string
	LogEvents           []LogEvent
	// Oversized counts events whose message was longer than Limits.MaxLine.
	Oversized int
	// DecompressedBytes is the size of the JSON document.
	DecompressedBytes int
}

// Decoder decodes payloads, reusing its buffers between calls. A Decoder is
// not safe for concurrent use; build one per Lambda container.
type Decoder struct {
	lim Limits
	raw []byte
	zr  *gzip.Reader
	// lastSize is the previous payload's decompressed size.
	lastSize int
	br       bytes.Reader
}

// NewDecoder returns a Decoder enforcing lim; zero fields take the defaults.
func NewDecoder(lim Limits) *Decoder {
	if lim.MaxDecompressed <= 0 {
		lim.MaxDecompressed = DefaultMaxDecompressed
	}
	if lim.MaxLine <= 0 {
		lim.MaxLine = DefaultMaxLine
	}
	return &Decoder{lim: lim}
}

// Decode decodes awslogs.data. The returned strings share one buffer that
// nothing writes to after Decode returns, so they stay valid and unchanged
// after later calls. It returns
// ErrBase64, ErrGzip, ErrTooLarge or ErrJSON (wrapped) on bad input.
func (d *Decoder) Decode(data string) (*Payload, error) {
	raw, err := d.base64(data)
	if err != nil {
		return nil, err
	}
	doc, err := d.gunzip(raw)
	if err != nil {
		return nil, err
	}
	p, err := parseDocument(doc, d.lim.MaxLine)
	if err != nil {
		return nil, err
	}
	p.DecompressedBytes = len(doc)
	return p, nil
}

func (d *Decoder) base64(data string) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(data))
	if cap(d.raw) < n {
		d.raw = make([]byte, n)
	}
	raw := d.raw[:n]
	m, err := base64.StdEncoding.Decode(raw, []byte(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	return raw[:m], nil
}

// initialSize guesses the decompressed size of raw so the buffer is
// allocated once: growing a 16 MB buffer by appending would hold the old and
// the new one at the same time. The gzip trailer's ISIZE (the size mod 2^32)
// is exact for the single-member streams CloudWatch writes; a forged one
// costs at most the limit, which the read enforces anyway.
func initialSize(raw []byte, lastSize int) int {
	if len(raw) >= 18 {
		// Deflate expands at most 1032:1, so a trailer claiming more is
		// forged and would only make a tiny payload allocate the whole limit.
		if isize := int(binary.LittleEndian.Uint32(raw[len(raw)-4:])); isize >= len(raw)/2 && isize <= len(raw)*1032 {
			return isize + 1 // +1: the read that sees EOF needs room
		}
	}
	// Access logs compress about 8-12x; start near the final size.
	return max(lastSize+lastSize/8, len(raw)*10, 64<<10)
}

// gunzip decompresses raw into a new buffer, reading at most one byte past
// the limit so an oversized stream is detected without inflating it all.
//
// The buffer is fresh for every payload, never reused: the decoded strings
// alias it (see parseDocument), so it must not change once Decode returns.
// Its first size is the last payload's, which spares regrowth in a warm
// container.
func (d *Decoder) gunzip(raw []byte) ([]byte, error) {
	d.br.Reset(raw)
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(&d.br)
	} else {
		err = d.zr.Reset(&d.br)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGzip, err)
	}
	limit := d.lim.MaxDecompressed
	buf := make([]byte, 0, min(initialSize(raw, d.lastSize), limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
			buf = buf[:len(buf):min(cap(buf), limit+1)]
		}
		n, rerr := d.zr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%w: %v", ErrGzip, rerr)
		}
	}
	d.lastSize = len(buf)
	return buf, nil
}
