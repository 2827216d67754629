// Command evaldiscovery measures API discovery against the route lists of
// public APIs: it generates template-less traffic to every route, runs it
// through internal/discovery and prints precision, recall and F1 of the
// recovered (method, template) pairs per API.
//
// Usage:
//
//	evaldiscovery [-routes dir] [-seed n] [-seeds n] [-skew x] [-v]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/discovery/evaluation"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "evaldiscovery:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("evaldiscovery", flag.ContinueOnError)
	opt := evaluation.DefaultOptions()
	dir := fs.String("routes", "internal/discovery/testdata/routes", "directory of *.txt route lists")
	fs.Uint64Var(&opt.Seed, "seed", opt.Seed, "seed of the generated traffic")
	seeds := fs.Int("seeds", 1, "also report the mean and worst F1 over this many seeds from -seed on")
	fs.Float64Var(&opt.Skew, "skew", opt.Skew, "skew of parameter values (1 uniform; larger makes a few values popular)")
	verbose := fs.Bool("v", false, "list missing and extra endpoints")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 {
		return fmt.Errorf("-seeds is %d, want at least 1", *seeds)
	}
	apis, err := evaluation.LoadDir(*dir)
	if err != nil {
		return fmt.Errorf("loading route lists: %w", err)
	}
	var results []evaluation.Result
	for _, api := range apis {
		results = append(results, evaluation.Run(api, opt, discovery.DefaultConfig()))
	}
	fmt.Fprintf(stdout, "seed %d, skew %.1f, %d-%d requests per route, default config\n\n",
		opt.Seed, opt.Skew, opt.MinPerRoute, opt.MaxPerRoute)
	if err := evaluation.WriteTable(stdout, results, *verbose); err != nil {
		return err
	}
	if *seeds == 1 {
		return nil
	}
	fmt.Fprintf(stdout, "\nover %d seeds from %d:\n\n", *seeds, opt.Seed)
	return evaluation.WriteSeedTable(stdout, evaluation.Sweep(apis, opt, *seeds, discovery.DefaultConfig()))
}
