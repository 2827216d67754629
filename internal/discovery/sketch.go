package discovery

import (
	"math"
	"math/bits"
)

// hashString returns a 64-bit hash of s: FNV-1a finished with the splitmix64
// mixer so that every bit is usable by the sketches. It is fixed, not
// seeded, so estimates are reproducible from run to run.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// distinct estimates the number of distinct hashes added to it: exactly up
// to sparseMax of them, then with a HyperLogLog of 256 one-byte registers
// (standard error about 6.5%). The zero value is empty and ready to use.
type distinct struct {
	sparse []uint64
	regs   *[hllRegisters]uint8
}

const (
	hllPrecision = 8
	hllRegisters = 1 << hllPrecision
	sparseMax    = 32
)

func (d *distinct) add(h uint64) {
	if d.regs != nil {
		d.addDense(h)
		return
	}
	for _, x := range d.sparse {
		if x == h {
			return
		}
	}
	if len(d.sparse) < sparseMax {
		d.sparse = append(d.sparse, h)
		return
	}
	d.regs = new([hllRegisters]uint8)
	for _, x := range d.sparse {
		d.addDense(x)
	}
	d.sparse = nil
	d.addDense(h)
}

func (d *distinct) addDense(h uint64) {
	i := h >> (64 - hllPrecision)
	rank := uint8(bits.LeadingZeros64(h<<hllPrecision|1<<(hllPrecision-1))) + 1
	if rank > d.regs[i] {
		d.regs[i] = rank
	}
}

// estimate returns the estimated number of distinct hashes added.
func (d *distinct) estimate() float64 {
	if d.regs == nil {
		return float64(len(d.sparse))
	}
	const m = float64(hllRegisters)
	sum, zeros := 0.0, 0
	for _, r := range d.regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return e
}

// merge adds everything in o to d.
func (d *distinct) merge(o *distinct) {
	if o.regs == nil {
		for _, h := range o.sparse {
			d.add(h)
		}
		return
	}
	if d.regs == nil {
		d.regs = new([hllRegisters]uint8)
		for _, x := range d.sparse {
			d.addDense(x)
		}
		d.sparse = nil
	}
	for i, r := range o.regs {
		if r > d.regs[i] {
			d.regs[i] = r
		}
	}
}

// histogram counts non-negative values in log-linear buckets: exact below
// 32, then 16 buckets per power of two, so a quantile is within about 3% of
// the true value. A young histogram stores only its occupied buckets,
// sorted by index, which keeps the many small endpoints of an inventory
// cheap; past denseAfter occupied buckets it switches to an array indexed
// by bucket, so busy endpoints pay O(1) per value. It is mergeable, so
// endpoints can be folded together without losing their distributions.
type histogram struct {
	n       uint64
	buckets []bucket // sparse form, sorted by idx
	dense   []uint32 // dense form, by idx; nil while sparse
}

type bucket struct {
	idx uint16
	n   uint32
}

const (
	histSubBits = 4
	histExact   = 1 << (histSubBits + 1) // values below are their own bucket
	denseAfter  = 24
)

func bucketIndex(v int64) uint16 {
	if v < histExact {
		return uint16(max(v, 0))
	}
	u := uint64(v)
	e := bits.Len64(u) - 1
	sub := (u >> (e - histSubBits)) & (1<<histSubBits - 1)
	return uint16(histExact + (e-histSubBits-1)<<histSubBits + int(sub))
}

// bucketValue returns the middle of bucket idx.
func bucketValue(idx uint16) float64 {
	if idx < histExact {
		return float64(idx)
	}
	i := int(idx) - histExact
	e := i>>histSubBits + histSubBits + 1
	sub := i & (1<<histSubBits - 1)
	width := uint64(1) << (e - histSubBits)
	lo := (uint64(1)<<histSubBits + uint64(sub)) * width
	return float64(lo) + float64(width-1)/2
}

func (h *histogram) add(v int64) {
	h.addN(bucketIndex(v), 1)
}

func (h *histogram) addN(idx uint16, n uint32) {
	h.n += uint64(n)
	if h.dense != nil {
		if int(idx) >= len(h.dense) {
			h.dense = append(h.dense, make([]uint32, int(idx)+1-len(h.dense))...)
		}
		h.dense[idx] = satAdd(h.dense[idx], n)
		return
	}
	i, j := 0, len(h.buckets)
	for i < j {
		m := int(uint(i+j) >> 1)
		if h.buckets[m].idx < idx {
			i = m + 1
		} else {
			j = m
		}
	}
	if i < len(h.buckets) && h.buckets[i].idx == idx {
		h.buckets[i].n = satAdd(h.buckets[i].n, n)
		return
	}
	if len(h.buckets) == denseAfter {
		h.dense = make([]uint32, max(int(idx), int(h.buckets[len(h.buckets)-1].idx))+1)
		for _, b := range h.buckets {
			h.dense[b.idx] = b.n
		}
		h.dense[idx] = n
		h.buckets = nil
		return
	}
	h.buckets = append(h.buckets, bucket{})
	copy(h.buckets[i+1:], h.buckets[i:])
	h.buckets[i] = bucket{idx: idx, n: n}
}

// satAdd returns a+b, saturating at the largest uint32.
func satAdd(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// each calls fn for every occupied bucket in increasing order.
func (h *histogram) each(fn func(idx uint16, n uint32) bool) {
	if h.dense != nil {
		for i, n := range h.dense {
			if n > 0 && !fn(uint16(i), n) {
				return
			}
		}
		return
	}
	for _, b := range h.buckets {
		if !fn(b.idx, b.n) {
			return
		}
	}
}

// quantile returns the value at quantile q in [0, 1], or 0 when empty.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	var last uint16
	found := false
	h.each(func(idx uint16, n uint32) bool {
		seen += uint64(n)
		last = idx
		found = seen >= rank
		return !found
	})
	return bucketValue(last)
}

func (h *histogram) merge(o *histogram) {
	o.each(func(idx uint16, n uint32) bool {
		h.addN(idx, n)
		return true
	})
}

// bloom remembers the word values a variable position has folded into its
// parameter, so that such a value can never come back as a literal sibling
// and split what was merged. It has no false negatives; a false positive
// only folds a would-be literal into the parameter. 8192 bits and four
// probes give about 1.6% false positives after 900 values, 10% after 2000.
type bloom struct {
	words [bloomBits / 64]uint64
}

const (
	bloomBits   = 8192
	bloomProbes = 4
)

func (b *bloom) add(h uint64) {
	h1, h2 := h&0xffffffff, h>>32|1
	for i := range uint64(bloomProbes) {
		bit := (h1 + i*h2) % bloomBits
		b.words[bit/64] |= 1 << (bit % 64)
	}
}

func (b *bloom) has(h uint64) bool {
	h1, h2 := h&0xffffffff, h>>32|1
	for i := range uint64(bloomProbes) {
		bit := (h1 + i*h2) % bloomBits
		if b.words[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (b *bloom) union(o *bloom) {
	for i := range b.words {
		b.words[i] |= o.words[i]
	}
}
