package envelope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// records builds n NDJSON lines; randomBytes adds incompressible noise to
// each, so the tests cover both typical and worst-case compression ratios.
func records(n, randomBytes int, seed uint64) ([]byte, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	var buf []byte
	ends := make([]int, 0, n)
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range n {
		noise := make([]byte, randomBytes)
		for k := range noise {
			noise[k] = alnum[r.IntN(len(alnum))]
		}
		buf = fmt.Appendf(buf, `{"id":"req-%08d","method":"GET","host":"api.example.com","path":"/users/%d/orders","status":200,"latency_ms":%d,"user_agent":"Mozilla/5.0 %s"}`+"\n",
			i, r.IntN(100000), r.IntN(900), noise)
		ends = append(ends, len(buf))
	}
	return buf, ends
}

func TestPackRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		n, noise    int
		maxMessage  int
		minMessages int
	}{
		{"one record", 1, 0, DefaultMaxMessageBytes, 1},
		{"compressible, default size", 50000, 0, DefaultMaxMessageBytes, 1},
		{"noisy, default size", 20000, 64, DefaultMaxMessageBytes, 2},
		{"incompressible, small messages", 2000, 400, 4 << 10, 100},
		{"1 MiB messages", 50000, 16, MaxMessageBytes, 1},
	}
	opener, err := NewOpener(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ndjson, ends := records(tt.n, tt.noise, 7)
			p, err := NewPacker(tt.maxMessage)
			if err != nil {
				t.Fatal(err)
			}
			msgs, tooLarge := p.Pack(ndjson, ends)
			if tooLarge != 0 {
				t.Fatalf("tooLarge = %d", tooLarge)
			}
			if len(msgs) < tt.minMessages {
				t.Errorf("got %d messages, want at least %d", len(msgs), tt.minMessages)
			}
			var joined []byte
			total := 0
			for i, m := range msgs {
				if m.Size() > tt.maxMessage {
					t.Errorf("message %d is %d bytes, limit %d", i, m.Size(), tt.maxMessage)
				}
				raw, err := opener.Open(m.Body)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if got := len(Lines(raw)); got != m.Records {
					t.Errorf("message %d: %d lines, attribute says %d", i, got, m.Records)
				}
				joined = append(joined, raw...)
				total += m.Records
			}
			if total != tt.n || !bytes.Equal(joined, ndjson) {
				t.Fatalf("round trip lost or changed records: %d of %d", total, tt.n)
			}
			// Fill: every message but the last carries most of its capacity.
			for i, m := range msgs[:len(msgs)-1] {
				if m.Size() < tt.maxMessage*3/4 {
					t.Errorf("message %d only %d of %d bytes", i, m.Size(), tt.maxMessage)
				}
			}
		})
	}
}

func TestPackRecordTooLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	huge := make([]byte, 8<<10)
	for i := range huge {
		huge[i] = byte('a' + r.IntN(26))
	}
	ndjson := []byte(`{"id":"a"}` + "\n" + `{"id":"b","x":"` + string(huge) + `"}` + "\n" + `{"id":"c"}` + "\n")
	ends := []int{11, len(ndjson) - 11, len(ndjson)}
	p, err := NewPacker(MinMessageBytes * 2)
	if err != nil {
		t.Fatal(err)
	}
	msgs, tooLarge := p.Pack(ndjson, ends)
	if tooLarge != 1 {
		t.Fatalf("tooLarge = %d, want 1", tooLarge)
	}
	o, _ := NewOpener(0)
	var got []string
	for _, m := range msgs {
		raw, err := o.Open(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range Lines(raw) {
			got = append(got, string(l))
		}
	}
	if strings.Join(got, "|") != `{"id":"a"}|{"id":"c"}` {
		t.Errorf("records around the oversized one: %q", got)
	}
}

func TestNewPackerLimits(t *testing.T) {
	for _, n := range []int{0, MinMessageBytes - 1, MaxMessageBytes + 1} {
		if _, err := NewPacker(n); err == nil {
			t.Errorf("NewPacker(%d) accepted", n)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	enc, _ := zstd.NewWriter(nil)
	bomb := base64.StdEncoding.EncodeToString(enc.EncodeAll(make([]byte, 4<<20), nil))
	tests := []struct {
		name string
		body string
	}{
		{"not base64", "%%%"},
		{"not zstd", base64.StdEncoding.EncodeToString([]byte("plain text"))},
		{"truncated", bomb[:len(bomb)/2]},
		{"inflates past limit", bomb},
	}
	o, err := NewOpener(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.Open(tt.body); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		version, encoding string
		ok                bool
	}{
		{Version, EncodingZstd, true},
		{"", EncodingZstd, true},
		{"2", EncodingZstd, false},
		{Version, "gzip", false},
		{Version, "", false},
	}
	for _, tt := range tests {
		err := Check(tt.version, tt.encoding)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUnsupported)) {
			t.Errorf("Check(%q, %q) = %v", tt.version, tt.encoding, err)
		}
	}
}

func TestLines(t *testing.T) {
	got := Lines([]byte("a\n\n b \r\nc"))
	if len(got) != 3 || string(got[0]) != "a" || string(got[1]) != "b" || string(got[2]) != "c" {
		t.Errorf("%q", got)
	}
	if len(Lines(nil)) != 0 {
		t.Error("nil input")
	}
}

func TestMessageSizeCountsAttributes(t *testing.T) {
	m := Message{Body: "abcd", Records: 12345}
	want := 4
	for name, a := range m.Attributes() {
		want += len(name) + len(a[0]) + len(a[1])
	}
	if m.Size() != want || m.Size() > 4+attrReserve {
		t.Errorf("Size() = %d, want %d (reserve %d)", m.Size(), want, attrReserve)
	}
}

// TestPackMixedSizes mixes tiny and nearly-too-large incompressible records,
// so ratio guesses miss in both directions and the halving fallback runs.
func TestPackMixedSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const maxMsg = 2 << 10
	var ndjson []byte
	var ends []int
	wantIDs := 0
	for i := range 300 {
		size := 10
		switch i % 7 {
		case 0:
			size = 1400 // fits alone, barely
		case 3:
			size = 4000 // never fits
		}
		noise := make([]byte, size)
		for k := range noise {
			noise[k] = byte('!' + r.IntN(90))
			if noise[k] == '"' || noise[k] == '\\' {
				noise[k] = 'x'
			}
		}
		ndjson = fmt.Appendf(ndjson, `{"id":"%d","x":"%s"}`+"\n", i, noise)
		ends = append(ends, len(ndjson))
		if size != 4000 {
			wantIDs++
		}
	}
	p, err := NewPacker(maxMsg)
	if err != nil {
		t.Fatal(err)
	}
	msgs, tooLarge := p.Pack(ndjson, ends)
	o, _ := NewOpener(0)
	got := 0
	for _, m := range msgs {
		if m.Size() > maxMsg {
			t.Fatalf("message of %d bytes over %d", m.Size(), maxMsg)
		}
		raw, err := o.Open(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		got += len(Lines(raw))
	}
	if got != wantIDs || tooLarge != 300-wantIDs {
		t.Errorf("packed %d (want %d), tooLarge %d (want %d)", got, wantIDs, tooLarge, 300-wantIDs)
	}
}

// TestPackSomeStream feeds records in slices, as ingest does, and checks that
// the stream packs the same records into full messages.
func TestPackSomeStream(t *testing.T) {
	ndjson, ends := records(30000, 32, 9)
	p, err := NewPacker(16 << 10)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	var buf []byte
	var bufEnds []int
	prev := 0
	for k, e := range ends {
		buf = append(buf, ndjson[prev:e]...)
		bufEnds = append(bufEnds, len(buf))
		prev = e
		if len(buf) < 64<<10 && k != len(ends)-1 {
			continue
		}
		m, tooLarge, n := p.PackSome(buf, bufEnds)
		if tooLarge != 0 {
			t.Fatal("tooLarge")
		}
		msgs = append(msgs, m...)
		if n > 0 {
			off := bufEnds[n-1]
			buf = buf[:copy(buf, buf[off:])]
			bufEnds = bufEnds[:copy(bufEnds, bufEnds[n:])]
			for i := range bufEnds {
				bufEnds[i] -= off
			}
		}
	}
	last, _ := p.Pack(buf, bufEnds)
	msgs = append(msgs, last...)
	o, _ := NewOpener(0)
	var joined []byte
	for i, m := range msgs {
		raw, err := o.Open(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, raw...)
		if i < len(msgs)-1 && m.Size() < (16<<10)*3/4 {
			t.Errorf("message %d of %d only %d bytes", i, len(msgs), m.Size())
		}
	}
	if !bytes.Equal(joined, ndjson) {
		t.Fatal("stream packing lost, duplicated or reordered records")
	}
}
