package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Max: 70 * time.Millisecond, Rand: func() float64 { return 0.999999 }}
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 10 * time.Millisecond},
		{1, 20 * time.Millisecond},
		{2, 40 * time.Millisecond},
		{3, 70 * time.Millisecond},
		{60, 70 * time.Millisecond}, // no overflow for large attempts
	}
	for _, tt := range tests {
		got := p.Delay(tt.attempt)
		if got > tt.ceiling || got < tt.ceiling*99/100 {
			t.Errorf("Delay(%d) = %v, want just under %v", tt.attempt, got, tt.ceiling)
		}
	}
	p.Rand = func() float64 { return 0 }
	if p.Delay(5) != 0 {
		t.Error("full jitter must reach 0")
	}
	p.Rand = nil
	for range 100 {
		if d := p.Delay(1); d < 0 || d >= 20*time.Millisecond {
			t.Fatalf("default random out of range: %v", d)
		}
	}
}

func TestWait(t *testing.T) {
	p := Policy{Base: time.Millisecond, Max: 20 * time.Millisecond, Margin: 50 * time.Millisecond}
	t.Run("no deadline", func(t *testing.T) {
		if err := p.Wait(t.Context(), time.Millisecond); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("capped at Max", func(t *testing.T) {
		start := time.Now()
		if err := p.Wait(t.Context(), time.Hour); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("wait was not capped")
		}
	})
	t.Run("deadline inside margin", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 40*time.Millisecond)
		defer cancel()
		if err := p.Wait(ctx, time.Millisecond); !errors.Is(err, ErrNoTime) {
			t.Fatalf("got %v, want ErrNoTime", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Wait(ctx, 10*time.Millisecond); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("remaining", func(t *testing.T) {
		if _, ok := p.Remaining(t.Context()); ok {
			t.Error("no deadline reported as one")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if d, ok := p.Remaining(ctx); !ok || d > 950*time.Millisecond || d < 500*time.Millisecond {
			t.Errorf("Remaining = %v %v", d, ok)
		}
	})
}
