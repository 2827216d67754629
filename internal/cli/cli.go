package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrUsage means the command line was wrong; the message says how.
var ErrUsage = errors.New("usage")

// command is one gwtap subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"dlq":    {"dead-letter queue runbook: status, peek, replay and reingest (docs/runbook.md)", runDLQ},
		"events": {"generate CloudWatch Logs subscription events from access-log lines", runEvents},
		"ingest": {"run the ingest handler on subscription events against an SQS queue", runIngest},
		"invoke": {"run a function's bootstrap on events under a local Lambda runtime API (like sam local invoke)", runInvoke},
		"local":  {"run the whole pipeline locally: local SQS, ingest, forward, node (what `make demo` runs)", runLocal},
		"node":   {"run the node: collector endpoint, API inventory, OpenAPI export and web page", runNode},
	}
}

// Run runs gwtap with args (without the program name). It returns an error
// wrapping ErrUsage for a bad command line.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return fmt.Errorf("%w: no command given", ErrUsage)
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "gwtap turns Amazon API Gateway access logs into a live API inventory.")
	fmt.Fprintln(w, "\nUsage: gwtap <command> [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'gwtap <command> -h' for a command's flags.")
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gwtap %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, mapping -h to a nil error and other failures to ErrUsage.
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return false, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
