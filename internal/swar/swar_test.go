package swar

import (
	"testing"
)

// naive is the byte-at-a-time reference for the first matching index.
func naive(b []byte, match func(byte) bool) int {
	for i, c := range b {
		if match(c) {
			return i
		}
	}
	return 8
}

func first(mask uint64) int {
	if mask == 0 {
		return 8
	}
	return First(mask)
}

func FuzzAgainstNaive(f *testing.F) {
	f.Add([]byte("abc\"defg"), byte('"'), byte(0x20))
	f.Add([]byte{0x7f, 0x80, 0xff, 0x00, 0x1f, 0x20, 0x21, '\\'}, byte('\\'), byte(0x20))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x01"), byte(1), byte(1))
	f.Fuzz(func(t *testing.T, in []byte, c, n byte) {
		if len(in) < 8 {
			return
		}
		n &= 0x7f
		b := in[:8]
		x := Load(b, 0)
		if x != LoadString(string(b), 0) {
			t.Fatal("Load and LoadString disagree")
		}
		if got, want := first(Eq(x, c)), naive(b, func(v byte) bool { return v == c }); got != want {
			t.Fatalf("Eq(%q, %q) first = %d, want %d", b, c, got, want)
		}
		if got, want := first(Less(x, n)), naive(b, func(v byte) bool { return v < n }); got != want {
			t.Fatalf("Less(%q, %d) first = %d, want %d", b, n, got, want)
		}
		if got, want := first(NonASCII(x)), naive(b, func(v byte) bool { return v >= 0x80 }); got != want {
			t.Fatalf("NonASCII(%q) first = %d, want %d", b, got, want)
		}
	})
}

func TestExhaustiveSingleByte(t *testing.T) {
	for pos := range 8 {
		for v := range 256 {
			b := []byte("AAAAAAAA")
			b[pos] = byte(v)
			x := Load(b, 0)
			for _, c := range []byte{'"', '\\', 'A', 0, 0xff} {
				want := naive(b, func(u byte) bool { return u == c })
				if got := first(Eq(x, c)); got != want {
					t.Fatalf("Eq %q %q: %d want %d", b, c, got, want)
				}
			}
			if got, want := first(Less(x, 0x20)), naive(b, func(u byte) bool { return u < 0x20 }); got != want {
				t.Fatalf("Less %q: %d want %d", b, got, want)
			}
		}
	}
}
