package ingest

import (
	"fmt"

	"github.com/gwtap/gwtap/internal/accesslog"
	"github.com/gwtap/gwtap/internal/cwlogs"
	"github.com/gwtap/gwtap/internal/envelope"
	"github.com/gwtap/gwtap/internal/record"
)

// Field caps: API Gateway itself bounds most fields, but user agents and
// error messages are free text; a record stays small whatever the client sent.
const (
	maxPathBytes  = 8 << 10
	maxTextBytes  = 1 << 10
	maxShortBytes = 256
)

// maxSamples is how many unparsed lines one delivery reports in the log.
const maxSamples = 3

// Stats counts what one delivery contained and what became of it.
type Stats struct {
	Lines     int // log events received, oversized included
	Parsed    int // records built
	Unparsed  int // lines that could not be parsed, oversized included
	Oversized int // lines over the line cap (also in Unparsed)
	TooLarge  int // records that did not fit in a message even alone
	Messages  int // envelopes packed
	Enqueued  int // records in those envelopes
	// DecompressedBytes, RawBytes and BodyBytes are the sizes of the
	// subscription document, of the NDJSON packed, and of the message bodies.
	DecompressedBytes, RawBytes, BodyBytes int
	ByFormat                               map[accesslog.Format]int
}

// Sample is an unparsed line reported in the log.
type Sample struct {
	EventID string
	Reason  string
}

// Batch is the outcome of Build.
type Batch struct {
	// Control is true for a CONTROL_MESSAGE, which carries nothing to enqueue.
	Control  bool
	LogGroup string
	Messages []envelope.Message
	Stats    Stats
	Samples  []Sample
}

// Pipeline is the CPU path of ingest. It keeps its buffers between calls;
// one Pipeline serves one invocation at a time.
type Pipeline struct {
	appID  string
	dec    *cwlogs.Decoder
	packer *envelope.Packer
	ndjson []byte
	ends   []int
	redact *redactor
}

// NewPipeline builds a Pipeline from cfg. It returns an error for a message
// size limit envelope.NewPacker rejects.
func NewPipeline(cfg Config) (*Pipeline, error) {
	packer, err := envelope.NewPacker(cfg.MaxMessageBytes)
	if err != nil {
		return nil, fmt.Errorf("building packer: %w", err)
	}
	return &Pipeline{
		appID:  cfg.AppID,
		dec:    cwlogs.NewDecoder(cwlogs.Limits{MaxDecompressed: cfg.MaxDecompressedBytes, MaxLine: cfg.MaxLineBytes}),
		packer: packer,
		redact: newRedactor(cfg),
	}, nil
}

// Build decodes awslogs.data, parses every line and packs the records. It
// fails only when the delivery itself cannot be decoded (errors from
// cwlogs.Decode); bad lines are counted and sampled.
func (p *Pipeline) Build(data string) (*Batch, error) {
	payload, err := p.dec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decoding subscription payload: %w", err)
	}
	b := &Batch{LogGroup: payload.LogGroup}
	if payload.MessageType == cwlogs.ControlMessage {
		b.Control = true
		return b, nil
	}
	st := &b.Stats
	st.DecompressedBytes = payload.DecompressedBytes
	st.Lines = len(payload.LogEvents) + payload.Oversized
	st.Oversized = payload.Oversized
	st.Unparsed = payload.Oversized
	st.ByFormat = make(map[accesslog.Format]int, 2)
	if payload.Oversized > 0 {
		b.Samples = append(b.Samples, Sample{Reason: fmt.Sprintf("%d line(s) longer than the line cap", payload.Oversized)})
	}

	p.ndjson, p.ends = p.ndjson[:0], p.ends[:0]
	var rec record.Record
	for i := range payload.LogEvents {
		ev := &payload.LogEvents[i]
		rec = record.Record{}
		format, err := accesslog.Parse(ev.Message, &rec)
		if err != nil {
			st.Unparsed++
			if len(b.Samples) < maxSamples {
				b.Samples = append(b.Samples, Sample{EventID: ev.ID, Reason: err.Error()})
			}
			continue
		}
		st.ByFormat[format]++
		if rec.ID == "" {
			rec.ID = record.FallbackID(payload.LogGroup, payload.LogStream, ev.ID)
		}
		rec.AppID = p.appID
		rec.EventTime = ev.Timestamp
		if rec.Time == 0 {
			rec.Time = ev.Timestamp
		}
		rec.LogGroup = payload.LogGroup
		rec.LogStream = payload.LogStream
		rec.Account = payload.Owner
		clip(&rec)
		if p.redact.active() {
			p.redact.apply(&rec.SourceIP, &rec.UserAgent)
		}
		p.ndjson = append(rec.AppendJSON(p.ndjson), '\n')
		p.ends = append(p.ends, len(p.ndjson))
		st.Parsed++
		if len(p.ndjson) >= packEvery {
			p.packSome(b)
		}
	}
	msgs, tooLarge := p.packer.Pack(p.ndjson, p.ends)
	b.Messages = append(b.Messages, msgs...)
	st.TooLarge += tooLarge
	st.RawBytes += len(p.ndjson)
	st.Messages = len(b.Messages)
	for _, m := range b.Messages {
		st.Enqueued += m.Records
		st.BodyBytes += len(m.Body)
	}
	return b, nil
}

// packEvery is how much NDJSON Build collects before packing the full
// messages it holds: the NDJSON of a whole delivery never sits in memory.
const packEvery = 4 << 20

// packSome packs the full messages in the NDJSON buffer and moves the
// remaining records to its front.
func (p *Pipeline) packSome(b *Batch) {
	msgs, tooLarge, n := p.packer.PackSome(p.ndjson, p.ends)
	if n == 0 {
		return
	}
	b.Messages = append(b.Messages, msgs...)
	b.Stats.TooLarge += tooLarge
	off := p.ends[n-1]
	b.Stats.RawBytes += off
	p.ndjson = p.ndjson[:copy(p.ndjson, p.ndjson[off:])]
	p.ends = p.ends[:copy(p.ends, p.ends[n:])]
	for i := range p.ends {
		p.ends[i] -= off
	}
}

// clip bounds the free-text fields of r.
func clip(r *record.Record) {
	r.ID = truncate(r.ID, maxShortBytes)
	r.Path = truncate(r.Path, maxPathBytes)
	r.Template = truncate(r.Template, maxPathBytes)
	r.Host = truncate(r.Host, maxShortBytes)
	r.Method = truncate(r.Method, maxShortBytes)
	r.UserAgent = truncate(r.UserAgent, maxTextBytes)
	r.Error = truncate(r.Error, maxTextBytes)
	r.IntegrationError = truncate(r.IntegrationError, maxTextBytes)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
