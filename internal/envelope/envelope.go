package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Version is the envelope format version this package writes and reads.
const Version = "1"

// Message attribute names and values.
const (
	AttrVersion  = "gwtap-version"
	AttrEncoding = "gwtap-encoding"
	AttrRecords  = "gwtap-records"
	// EncodingZstd is the only encoding written: zstd-compressed NDJSON, base64 in the body.
	EncodingZstd = "zstd"
	// ContentType is the media type of the decoded payload.
	ContentType = "application/x-ndjson"
)

// SQS message size limits, in bytes (body plus attributes).
const (
	DefaultMaxMessageBytes = 256 << 10
	MinMessageBytes        = 1 << 10
	MaxMessageBytes        = 1 << 20
)

// DefaultMaxDecodedBytes bounds what Open inflates: far more than any
// envelope legitimately holds, far less than a 128 MB function.
const DefaultMaxDecodedBytes = 32 << 20

// Errors returned by Pack and Open; test with errors.Is.
var (
	// ErrRecordTooLarge means one record does not fit in a message even alone.
	ErrRecordTooLarge = errors.New("record does not fit in one message")
	// ErrUnsupported means the envelope's version or encoding is unknown.
	ErrUnsupported = errors.New("unsupported envelope")
	// ErrCorrupt means the body cannot be decoded.
	ErrCorrupt = errors.New("corrupt envelope")
)

// Message is one packed envelope, ready to send.
type Message struct {
	Body    string // base64 of the compressed payload
	Records int
	// RawBytes is the size of the NDJSON before compression.
	RawBytes int
}

// Attributes returns the message attributes to send with m, as
// name → (data type, value).
func (m Message) Attributes() map[string][2]string {
	return map[string][2]string{
		AttrVersion:  {"String", Version},
		AttrEncoding: {"String", EncodingZstd},
		AttrRecords:  {"Number", strconv.Itoa(m.Records)},
	}
}

// Size is what SQS counts against the message size limit: the body plus each
// attribute's name, data type and value.
func (m Message) Size() int {
	n := len(m.Body)
	for name, a := range m.Attributes() {
		n += len(name) + len(a[0]) + len(a[1])
	}
	return n
}

// attrReserve is the largest attribute overhead a message can have (record
// counts up to 10 digits).
const attrReserve = len(AttrVersion) + len("String") + len(Version) +
	len(AttrEncoding) + len("String") + len(EncodingZstd) +
	len(AttrRecords) + len("Number") + 10

// Packer packs NDJSON records into messages. Build one per container and
// reuse it: it keeps its zstd encoder and buffers. Not safe for concurrent use.
type Packer struct {
	enc      *zstd.Encoder
	capacity int     // largest compressed payload that fits, before base64
	ratio    float64 // compressed/raw, learnt from the last message
	comp     []byte
}

// NewPacker returns a Packer for messages of at most maxMessageBytes, which
// must lie within [MinMessageBytes, MaxMessageBytes].
func NewPacker(maxMessageBytes int) (*Packer, error) {
	if maxMessageBytes < MinMessageBytes || maxMessageBytes > MaxMessageBytes {
		return nil, fmt.Errorf("message size limit %d is outside [%d, %d]", maxMessageBytes, MinMessageBytes, MaxMessageBytes)
	}
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true),
	)
	if err != nil {
		return nil, fmt.Errorf("creating zstd encoder: %w", err)
	}
	return &Packer{
		enc:      enc,
		capacity: base64.StdEncoding.DecodedLen(maxMessageBytes - attrReserve),
		ratio:    0.12, // typical for access-log records; corrected after the first message
	}, nil
}

// Pack packs the records in ndjson, whose ends (offsets just past each
// record's newline) are given in ends, into as few messages as fit. Records
// that cannot fit even alone are skipped and counted in tooLarge; everything
// else is packed, in order.
//
// The compressed size of a run of records is only known after compressing
// it, so Pack guesses the run from the ratio it saw last, then corrects the
// guess in proportion to the miss: at most a few compressions per message.
func (p *Packer) Pack(ndjson []byte, ends []int) (msgs []Message, tooLarge int) {
	msgs, tooLarge, _ = p.pack(ndjson, ends, true)
	return msgs, tooLarge
}

// PackSome is Pack for a stream: it packs only full messages, leaving the
// tail that might not fill one for a later call, and reports how many
// records (from the start of ends) it consumed. The caller keeps the rest,
// appends more, and finally calls Pack.
func (p *Packer) PackSome(ndjson []byte, ends []int) (msgs []Message, tooLarge, consumed int) {
	return p.pack(ndjson, ends, false)
}

func (p *Packer) pack(ndjson []byte, ends []int, final bool) (msgs []Message, tooLarge, consumed int) {
	const (
		fillTarget  = 0.85 // a message this full is good enough
		maxAttempts = 4
	)
	last := len(ends) - 1
	start := 0
	for i := 0; i <= last; {
		budget := int(float64(p.capacity) / p.ratio * 0.92)
		if !final && ends[last]-start < 2*budget {
			return msgs, tooLarge, i
		}
		fits, over := -1, last+1 // best run end that fits; smallest that did not
		var best []byte
		for attempt := 0; attempt < maxAttempts; attempt++ {
			j := max(min(furthest(ends, i, start, budget), over-1), fits+1, i)
			if j >= over {
				break
			}
			raw := ndjson[start:ends[j]]
			p.comp = p.enc.EncodeAll(raw, p.comp[:0])
			n := len(p.comp)
			p.ratio = max(float64(n)/float64(len(raw)), 0.005)
			if n <= p.capacity {
				fits = j
				best = append(best[:0], p.comp...)
				if j == last || n >= int(fillTarget*float64(p.capacity)) {
					break
				}
			} else {
				over = j
			}
			// Aim just under capacity, in proportion to what this run compressed to.
			budget = int(float64(len(raw)) * float64(p.capacity) / float64(n) * 0.95)
		}
		if fits < 0 && over > i {
			// The guesses kept overshooting: fall back to halving until a run fits.
			fits, best = p.halve(ndjson, ends, i, start, over)
		}
		if fits < 0 { // record i alone does not fit
			tooLarge++
			start = ends[i]
			i++
			continue
		}
		msgs = append(msgs, Message{
			Body:     base64.StdEncoding.EncodeToString(best),
			Records:  fits - i + 1,
			RawBytes: ends[fits] - start,
		})
		start = ends[fits]
		i = fits + 1
	}
	return msgs, tooLarge, len(ends)
}

// halve finds a run starting at record i that fits by repeated halving of
// the run ending before over, and returns its last index and compressed
// bytes; -1 when record i alone does not fit.
func (p *Packer) halve(ndjson []byte, ends []int, i, start, over int) (int, []byte) {
	for j := i + (over-1-i)/2; ; j = i + (j-i)/2 {
		p.comp = p.enc.EncodeAll(ndjson[start:ends[j]], p.comp[:0])
		if len(p.comp) <= p.capacity {
			return j, append([]byte(nil), p.comp...)
		}
		if j == i {
			return -1, nil
		}
	}
}

// furthest returns the last record index k ≥ i whose end lies within budget
// bytes of start (at least i itself).
func furthest(ends []int, i, start, budget int) int {
	lo, hi := i, len(ends)-1
	if ends[hi]-start <= budget {
		return hi
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ends[mid]-start <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Opener decodes envelopes. Build one per container; safe for concurrent use.
type Opener struct {
	dec *zstd.Decoder
	max int
}

// NewOpener returns an Opener that refuses payloads inflating past maxDecoded
// bytes (DefaultMaxDecodedBytes when ≤ 0).
func NewOpener(maxDecoded int) (*Opener, error) {
	if maxDecoded <= 0 {
		maxDecoded = DefaultMaxDecodedBytes
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(uint64(maxDecoded)),
		zstd.WithDecoderLowmem(true),
	)
	if err != nil {
		return nil, fmt.Errorf("creating zstd decoder: %w", err)
	}
	return &Opener{dec: dec, max: maxDecoded}, nil
}

// Check validates the envelope's attributes (version and encoding); a
// missing version attribute is read as Version. It returns ErrUnsupported.
func Check(version, encoding string) error {
	if version != "" && version != Version {
		return fmt.Errorf("%w: version %q", ErrUnsupported, version)
	}
	if encoding != EncodingZstd {
		return fmt.Errorf("%w: encoding %q", ErrUnsupported, encoding)
	}
	return nil
}

// Compressed returns the compressed payload carried in body: the request
// body to post with Content-Encoding: zstd. It returns ErrCorrupt.
func Compressed(body string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: body is not base64: %v", ErrCorrupt, err)
	}
	return b, nil
}

// Open returns the NDJSON carried in body. It returns ErrCorrupt for a body
// that is not base64 or not zstd, or that inflates past the limit.
func (o *Opener) Open(body string) ([]byte, error) {
	comp, err := Compressed(body)
	if err != nil {
		return nil, err
	}
	out, err := o.dec.DecodeAll(comp, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(out) > o.max {
		return nil, fmt.Errorf("%w: payload inflates past %d bytes", ErrCorrupt, o.max)
	}
	return out, nil
}

// Lines splits NDJSON into its non-empty lines, without copying.
func Lines(ndjson []byte) [][]byte {
	var out [][]byte
	for len(ndjson) > 0 {
		i := bytes.IndexByte(ndjson, '\n')
		if i < 0 {
			i = len(ndjson)
		}
		if line := bytes.TrimSpace(ndjson[:i]); len(line) > 0 {
			out = append(out, line)
		}
		ndjson = ndjson[min(i+1, len(ndjson)):]
	}
	return out
}
