package discovery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDistinct(t *testing.T) {
	tests := []struct {
		n       int
		maxRErr float64 // relative error allowed
	}{
		{0, 0}, {1, 0}, {32, 0}, {33, 0.05}, {100, 0.10}, {1000, 0.15}, {100000, 0.15},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			var d distinct
			for i := range tt.n {
				h := hashString(fmt.Sprintf("203.0.113.%d/%d", i%256, i))
				d.add(h)
				d.add(h) // duplicates do not count
			}
			got := d.estimate()
			if tt.n == 0 {
				if got != 0 {
					t.Fatalf("empty estimate = %v", got)
				}
				return
			}
			if rerr := math.Abs(got-float64(tt.n)) / float64(tt.n); rerr > tt.maxRErr {
				t.Errorf("estimate of %d = %.1f, relative error %.3f > %.3f", tt.n, got, rerr, tt.maxRErr)
			}
		})
	}
}

func TestDistinctMerge(t *testing.T) {
	for _, sizes := range [][2]int{{5, 7}, {20, 20}, {10, 500}, {500, 10}, {3000, 3000}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			var a, b, both distinct
			for i := range sizes[0] {
				h := hashString(fmt.Sprint("a", i))
				a.add(h)
				both.add(h)
			}
			for i := range sizes[1] {
				h := hashString(fmt.Sprint("b", i))
				b.add(h)
				both.add(h)
			}
			a.merge(&b)
			if got, want := a.estimate(), both.estimate(); math.Abs(got-want) > 1e-9 {
				t.Errorf("merged estimate %.2f, adding all to one %.2f", got, want)
			}
		})
	}
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		gen  func() int64
	}{
		{"small", func() int64 { return r.Int64N(20) }},
		{"latency", func() int64 { return 5 + int64(r.ExpFloat64()*80) }},
		{"bytes", func() int64 { return int64(r.ExpFloat64() * 1e6) }},
		{"wide", func() int64 { return int64(math.Exp(r.Float64() * 30)) }},
	} {
		t.Run(dist.name, func(t *testing.T) {
			var h histogram
			vals := make([]int64, 20000)
			for i := range vals {
				vals[i] = dist.gen()
				h.add(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.01, 0.5, 0.95, 0.99, 1} {
				exact := float64(vals[max(int(math.Ceil(q*float64(len(vals))))-1, 0)])
				got := h.quantile(q)
				if math.Abs(got-exact) > 0.035*exact+0.5 {
					t.Errorf("q%.2f = %.1f, exact %.1f", q, got, exact)
				}
			}
		})
	}
}

func TestHistogramMergeAndForms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var a, b, all histogram
	for range 5000 {
		v := int64(r.ExpFloat64() * 300)
		all.add(v)
		if r.IntN(2) == 0 {
			a.add(v)
		} else {
			b.add(v)
		}
	}
	var small histogram // stays sparse
	for _, v := range []int64{1, 2, 3, 1000, 1000} {
		small.add(v)
	}
	if small.dense != nil {
		t.Fatal("a histogram of 4 buckets went dense")
	}
	if all.dense == nil {
		t.Fatal("a histogram of many buckets stayed sparse")
	}
	a.merge(&b)
	a.merge(&small)
	all.merge(&small)
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
		if x, y := a.quantile(q), all.quantile(q); x != y {
			t.Errorf("q%.2f: merged %v, direct %v", q, x, y)
		}
	}
	if a.n != all.n {
		t.Errorf("merged count %d, direct %d", a.n, all.n)
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	var neg histogram
	neg.add(-5)
	if neg.quantile(0.5) != 0 {
		t.Error("negative values are not clamped to 0")
	}
}

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 31, 32, 33, 63, 64, 1000, 1 << 20, 123456789, math.MaxInt64} {
		idx := bucketIndex(v)
		mid := bucketValue(idx)
		if math.Abs(mid-float64(v)) > 0.035*float64(v)+0.5 {
			t.Errorf("value %d: bucket %d middle %.1f", v, idx, mid)
		}
		if idx > 0 && bucketIndex(v-1) > idx {
			t.Errorf("bucket index decreases at %d", v)
		}
	}
}

func TestBloom(t *testing.T) {
	var b bloom
	for i := range 900 {
		b.add(hashString(fmt.Sprint("in", i)))
	}
	for i := range 900 {
		if !b.has(hashString(fmt.Sprint("in", i))) {
			t.Fatalf("false negative for in%d", i)
		}
	}
	fp := 0
	for i := range 10000 {
		if b.has(hashString(fmt.Sprint("out", i))) {
			fp++
		}
	}
	if fp > 250 {
		t.Errorf("%d false positives in 10000 after 900 values, want under 2.5%%", fp)
	}
	var c bloom
	c.add(hashString("other"))
	c.union(&b)
	if !c.has(hashString("other")) || !c.has(hashString("in1")) {
		t.Error("union lost a value")
	}
}
