package protocol

import (
	"strings"
	"testing"
)

func TestActionFor(t *testing.T) {
	tests := []struct {
		status int
		want   Action
	}{
		{200, ActionDone},
		{201, ActionDrop},
		{202, ActionDrop},
		{204, ActionDrop},
		{301, ActionDrop},
		{307, ActionDrop},
		{400, ActionDrop},
		{401, ActionDrop},
		{403, ActionDrop},
		{404, ActionDrop},
		{408, ActionRetry},
		{409, ActionDrop},
		{413, ActionSplit},
		{415, ActionDrop},
		{422, ActionDrop},
		{429, ActionRetry},
		{500, ActionRetry},
		{502, ActionRetry},
		{503, ActionRetry},
		{504, ActionRetry},
		{599, ActionRetry},
		{600, ActionDrop},
		{0, ActionDrop},
	}
	for _, tt := range tests {
		if got := ActionFor(tt.status); got != tt.want {
			t.Errorf("ActionFor(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		body string
		want []string
	}{
		{"", nil},
		{"\n\n", nil},
		{`{"id":"a"}`, []string{`{"id":"a"}`}},
		{"{\"id\":\"a\"}\n", []string{`{"id":"a"}`}},
		{"a\r\n \t\r\nb\n\nc", []string{"a", "b", "c"}},
		{"  a  \n", []string{"a"}},
		// Only ASCII space, tab and CR are blank: a no-break space is a
		// (malformed) record and takes an index, as a node must count it.
		{"a\n\u00a0\nb", []string{"a", "\u00a0", "b"}},
	}
	for _, tt := range tests {
		got := SplitLines([]byte(tt.body))
		var s []string
		for _, l := range got {
			s = append(s, string(l))
		}
		if strings.Join(s, "|") != strings.Join(tt.want, "|") || len(s) != len(tt.want) {
			t.Errorf("SplitLines(%q) = %q, want %q", tt.body, s, tt.want)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{ActionDone: "done", ActionRetry: "retry", ActionSplit: "split", ActionDrop: "drop", 0: "unknown"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(a), a.String(), want)
		}
	}
}
