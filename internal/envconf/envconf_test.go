package envconf

import (
	"testing"
	"time"
)

func TestInt(t *testing.T) {
	env := map[string]string{"OK": " 42 ", "LOW": "0", "WORD": "many"}
	get := func(k string) string { return env[k] }
	tests := []struct {
		name     string
		want     int
		problems int
	}{
		{"UNSET", 7, 0},
		{"OK", 42, 0},
		{"LOW", 7, 1},
		{"WORD", 7, 1},
	}
	for _, tt := range tests {
		var p Problems
		if got := Int(get, &p, tt.name, 7, 1, 100); got != tt.want || len(p) != tt.problems {
			t.Errorf("Int(%s) = %d with %v, want %d with %d problems", tt.name, got, p, tt.want, tt.problems)
		}
	}
}

func TestDuration(t *testing.T) {
	env := map[string]string{"OK": "250ms", "HIGH": "2h", "BARE": "5"}
	get := func(k string) string { return env[k] }
	tests := []struct {
		name     string
		want     time.Duration
		problems int
	}{
		{"UNSET", time.Second, 0},
		{"OK", 250 * time.Millisecond, 0},
		{"HIGH", time.Second, 1},
		{"BARE", time.Second, 1},
	}
	for _, tt := range tests {
		var p Problems
		if got := Duration(get, &p, tt.name, time.Second, time.Millisecond, time.Hour); got != tt.want || len(p) != tt.problems {
			t.Errorf("Duration(%s) = %v with %v, want %v with %d problems", tt.name, got, p, tt.want, tt.problems)
		}
	}
}
