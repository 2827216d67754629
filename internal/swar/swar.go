// Package swar finds bytes eight at a time in a uint64 ("SIMD within a
// register"). The JSON scanners of the ingest hot path use it to skip the
// plain runs of a string between the bytes that need attention.
package swar

import (
	"encoding/binary"
	"math/bits"
)

const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// Eq marks (high bit set) the bytes of x equal to c. Marks above the first
// true one may be false positives (a borrow), so only the lowest mark is
// meaningful: use First.
func Eq(x uint64, c byte) uint64 {
	y := x ^ (lo * uint64(c))
	return (y - lo) &^ y & hi
}

// Less marks the bytes of x below n (n ≤ 128), with the same caveat as Eq.
func Less(x uint64, n byte) uint64 {
	return (x - lo*uint64(n)) &^ x & hi
}

// NonASCII marks the bytes of x with the high bit set (exact).
func NonASCII(x uint64) uint64 { return x & hi }

// Load reads eight bytes of b at i, little-endian; b[i:] must hold eight.
func Load(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// LoadString is Load for a string.
func LoadString(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// First returns the index (0-7) of the lowest marked byte of a non-zero mask.
func First(mask uint64) int { return bits.TrailingZeros64(mask) >> 3 }
