package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-routes", "../../internal/discovery/testdata/routes", "-seeds", "2", "-v"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"conduit", "github", "jira", "stripe", "precision", "over 2 seeds", "mean F1"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

func TestRunErrors(t *testing.T) {
	tests := map[string][]string{
		"bad flag":  {"-nope"},
		"no routes": {"-routes", t.TempDir()},
		"bad seeds": {"-seeds", "0"},
		"help":      {"-h"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			err := run(args, &out)
			if err == nil {
				t.Fatal("no error")
			}
			if name == "help" && !errors.Is(err, flag.ErrHelp) {
				t.Errorf("err = %v, want flag.ErrHelp", err)
			}
		})
	}
}
