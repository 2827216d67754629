package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/gwtap/gwtap/internal/record"
)

// A segment holds the records one append stored, column by column: each
// field of record.Record is one column, so values that repeat down a column
// (methods, hosts, stages, user agents) are written once in a dictionary,
// and integers that change little (timestamps) are written as small deltas.
// The columns are then zstd-compressed. Decoding rebuilds the records with
// their strings sliced from one allocation per segment.
//
// Layout (all integers unsigned varints unless said otherwise):
//
//	segment = count column*
//	column  = field kind length payload        ; length counts payload bytes
//	kind 1  = strings:  count × (len bytes)
//	kind 2  = dict:     size × (len bytes), then count × index
//	kind 3  = ints:     count × zigzag(value − previous value)
//	kind 4  = ids:      count × (0 len bytes | 1 uuid[16])
//
// A column whose values are all empty is left out, and a decoder skips
// fields it does not know, so fields can be added without a new format.
const segmentFormat = 1

const (
	kindStrings = 1
	kindDict    = 2
	kindInts    = 3
	kindIDs     = 4
)

// Field numbers of the columns; never reuse one.
const (
	fID = iota + 1
	fApp
	fTime
	fEventTime
	fMethod
	fHost
	fPath
	fTemplate
	fProtocol
	fStage
	fAPIID
	fStatus
	fIntegrationStatus
	fResponseBytes
	fLatency
	fIntegrationLatency
	fSourceIP
	fUserAgent
	fError
	fIntegrationError
	fResponseType
	fLogGroup
	fLogStream
	fAccount
)

// errCorrupt means a segment's bytes do not decode.
var errCorrupt = errors.New("corrupt segment")

type strField struct {
	num  int
	dict bool
	get  func(*record.Record) string
	set  func(*record.Record, string)
}

type intField struct {
	num int
	get func(*record.Record) int64
	set func(*record.Record, int64)
}

// Columns whose values are mostly distinct (paths, source IPs) are written
// plainly; a dictionary would only add indexes.
var strFields = []strField{
	{fApp, true, func(r *record.Record) string { return r.AppID }, func(r *record.Record, s string) { r.AppID = s }},
	{fMethod, true, func(r *record.Record) string { return r.Method }, func(r *record.Record, s string) { r.Method = s }},
	{fHost, true, func(r *record.Record) string { return r.Host }, func(r *record.Record, s string) { r.Host = s }},
	{fPath, false, func(r *record.Record) string { return r.Path }, func(r *record.Record, s string) { r.Path = s }},
	{fTemplate, true, func(r *record.Record) string { return r.Template }, func(r *record.Record, s string) { r.Template = s }},
	{fProtocol, true, func(r *record.Record) string { return r.Protocol }, func(r *record.Record, s string) { r.Protocol = s }},
	{fStage, true, func(r *record.Record) string { return r.Stage }, func(r *record.Record, s string) { r.Stage = s }},
	{fAPIID, true, func(r *record.Record) string { return r.APIID }, func(r *record.Record, s string) { r.APIID = s }},
	{fSourceIP, false, func(r *record.Record) string { return r.SourceIP }, func(r *record.Record, s string) { r.SourceIP = s }},
	{fUserAgent, true, func(r *record.Record) string { return r.UserAgent }, func(r *record.Record, s string) { r.UserAgent = s }},
	{fError, true, func(r *record.Record) string { return r.Error }, func(r *record.Record, s string) { r.Error = s }},
	{fIntegrationError, true, func(r *record.Record) string { return r.IntegrationError }, func(r *record.Record, s string) { r.IntegrationError = s }},
	{fResponseType, true, func(r *record.Record) string { return r.ResponseType }, func(r *record.Record, s string) { r.ResponseType = s }},
	{fLogGroup, true, func(r *record.Record) string { return r.LogGroup }, func(r *record.Record, s string) { r.LogGroup = s }},
	{fLogStream, true, func(r *record.Record) string { return r.LogStream }, func(r *record.Record, s string) { r.LogStream = s }},
	{fAccount, true, func(r *record.Record) string { return r.Account }, func(r *record.Record, s string) { r.Account = s }},
}

var intFields = []intField{
	{fTime, func(r *record.Record) int64 { return r.Time }, func(r *record.Record, v int64) { r.Time = v }},
	{fEventTime, func(r *record.Record) int64 { return r.EventTime }, func(r *record.Record, v int64) { r.EventTime = v }},
	{fStatus, func(r *record.Record) int64 { return int64(r.Status) }, func(r *record.Record, v int64) { r.Status = int(v) }},
	{fIntegrationStatus, func(r *record.Record) int64 { return int64(r.IntegrationStatus) }, func(r *record.Record, v int64) { r.IntegrationStatus = int(v) }},
	{fResponseBytes, func(r *record.Record) int64 { return r.ResponseBytes }, func(r *record.Record, v int64) { r.ResponseBytes = v }},
	{fLatency, func(r *record.Record) int64 { return r.LatencyMs }, func(r *record.Record, v int64) { r.LatencyMs = v }},
	{fIntegrationLatency, func(r *record.Record) int64 { return r.IntegrationLatency }, func(r *record.Record, v int64) { r.IntegrationLatency = v }},
}

var intFieldByNum, strFieldByNum = func() (map[int]intField, map[int]strField) {
	im, sm := map[int]intField{}, map[int]strField{}
	for _, f := range intFields {
		im[f.num] = f
	}
	for _, f := range strFields {
		sm[f.num] = f
	}
	return im, sm
}()

// segmentEncoder encodes segments; reuse one to keep its buffers.
type segmentEncoder struct {
	col  []byte
	dict map[string]uint64
	keys []string
	idx  []uint64
}

// encode appends the segment of recs to dst and returns it (uncompressed).
func (e *segmentEncoder) encode(dst []byte, recs []record.Record) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	if len(recs) == 0 {
		return dst
	}
	e.col = e.col[:0]
	for i := range recs {
		e.col = appendID(e.col, recs[i].ID)
	}
	dst = appendColumn(dst, fID, kindIDs, e.col)
	for _, f := range strFields {
		empty := true
		for i := range recs {
			if f.get(&recs[i]) != "" {
				empty = false
				break
			}
		}
		if empty {
			continue
		}
		if f.dict {
			dst = appendColumn(dst, f.num, kindDict, e.dictColumn(recs, f.get))
			continue
		}
		e.col = e.col[:0]
		for i := range recs {
			s := f.get(&recs[i])
			e.col = binary.AppendUvarint(e.col, uint64(len(s)))
			e.col = append(e.col, s...)
		}
		dst = appendColumn(dst, f.num, kindStrings, e.col)
	}
	for _, f := range intFields {
		e.col = e.col[:0]
		var prev int64
		nonzero := false
		for i := range recs {
			v := f.get(&recs[i])
			nonzero = nonzero || v != 0
			e.col = binary.AppendVarint(e.col, v-prev)
			prev = v
		}
		if nonzero {
			dst = appendColumn(dst, f.num, kindInts, e.col)
		}
	}
	return dst
}

func (e *segmentEncoder) dictColumn(recs []record.Record, get func(*record.Record) string) []byte {
	if e.dict == nil {
		e.dict = map[string]uint64{}
	}
	clear(e.dict)
	e.keys, e.idx = e.keys[:0], e.idx[:0]
	var prev string
	var prevN uint64
	for i := range recs {
		s := get(&recs[i])
		// Runs of one value are common (one application, one log group):
		// compare with the last value before hashing.
		if i > 0 && s == prev {
			e.idx = append(e.idx, prevN)
			continue
		}
		n, ok := e.dict[s]
		if !ok {
			n = uint64(len(e.keys))
			e.dict[s] = n
			e.keys = append(e.keys, s)
		}
		e.idx = append(e.idx, n)
		prev, prevN = s, n
	}
	e.col = binary.AppendUvarint(e.col[:0], uint64(len(e.keys)))
	for _, s := range e.keys {
		e.col = binary.AppendUvarint(e.col, uint64(len(s)))
		e.col = append(e.col, s...)
	}
	for _, n := range e.idx {
		e.col = binary.AppendUvarint(e.col, n)
	}
	return e.col
}

func appendColumn(dst []byte, field, kind int, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(field))
	dst = binary.AppendUvarint(dst, uint64(kind))
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

func appendID(dst []byte, id string) []byte {
	if u, ok := parseUUID(id); ok {
		return append(append(dst, 1), u[:]...)
	}
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	return append(dst, id...)
}

// decodeSegment decodes an uncompressed segment into recs (reusing its
// capacity) and returns the records. Their strings share one allocation.
func decodeSegment(recs []record.Record, data []byte) ([]record.Record, error) {
	s := string(data) // one copy: every string below is a slice of it
	d := reader{s: s}
	n := d.uvarint()
	// Every record takes at least one byte of the id column.
	if d.err != nil || n > uint64(len(s)) {
		return nil, fmt.Errorf("%w: record count", errCorrupt)
	}
	recs = recs[:0]
	if uint64(cap(recs)) < n {
		recs = make([]record.Record, 0, n)
	}
	recs = recs[:n]
	clear(recs)
	sawID := false
	for d.err == nil && d.off < len(s) {
		field := d.uvarint()
		kind := d.uvarint()
		size := d.uvarint()
		if d.err != nil || size > uint64(len(s)-d.off) {
			return nil, fmt.Errorf("%w: column header", errCorrupt)
		}
		col := reader{s: s[:d.off+int(size)], off: d.off}
		d.off += int(size)
		sawID = sawID || field == fID && kind == kindIDs
		if err := decodeColumn(recs, int(min(field, math.MaxInt32)), kind, &col); err != nil {
			return nil, err
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if n > 0 && !sawID {
		return nil, fmt.Errorf("%w: no id column", errCorrupt)
	}
	return recs, nil
}

func decodeColumn(recs []record.Record, field int, kind uint64, c *reader) error {
	switch kind {
	case kindIDs:
		if field != fID {
			return nil
		}
		for i := range recs {
			switch c.byte() {
			case 0:
				recs[i].ID = c.str()
			case 1:
				recs[i].ID = formatUUID(c.bytes(16))
			default:
				return fmt.Errorf("%w: id tag", errCorrupt)
			}
		}
	case kindStrings:
		f, ok := strFieldByNum[field]
		for i := range recs {
			if v := c.str(); ok {
				f.set(&recs[i], v)
			}
		}
	case kindDict:
		f, ok := strFieldByNum[field]
		size := c.uvarint()
		if size > uint64(c.remaining()) {
			return fmt.Errorf("%w: dictionary size", errCorrupt)
		}
		dict := make([]string, size)
		for i := range dict {
			dict[i] = c.str()
		}
		for i := range recs {
			k := c.uvarint()
			if k >= size {
				return fmt.Errorf("%w: dictionary index", errCorrupt)
			}
			if ok {
				f.set(&recs[i], dict[k])
			}
		}
	case kindInts:
		f, ok := intFieldByNum[field]
		var v int64
		for i := range recs {
			v += c.varint()
			if ok {
				f.set(&recs[i], v)
			}
		}
	default:
		// A kind this version does not know holds a field it does not know
		// either: skip it.
		return nil
	}
	if c.err != nil {
		return c.err
	}
	if c.off != len(c.s) {
		return fmt.Errorf("%w: column %d has trailing bytes", errCorrupt, field)
	}
	return nil
}

// reader reads varints and strings from s, remembering the first error.
type reader struct {
	s   string
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errCorrupt, what)
	}
	r.off = len(r.s)
}

func (r *reader) remaining() int { return len(r.s) - r.off }

func (r *reader) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.off >= len(r.s) {
			r.fail("truncated varint")
			return 0
		}
		b := r.s[r.off]
		r.off++
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				r.fail("varint overflow")
				return 0
			}
			return x | uint64(b)<<shift
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	r.fail("varint overflow")
	return 0
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *reader) byte() byte {
	if r.off >= len(r.s) {
		r.fail("truncated column")
		return 0xff
	}
	b := r.s[r.off]
	r.off++
	return b
}

func (r *reader) bytes(n int) string {
	if n > r.remaining() {
		r.fail("truncated string")
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(r.remaining()) {
		r.fail("string length")
		return ""
	}
	return r.bytes(int(n))
}
