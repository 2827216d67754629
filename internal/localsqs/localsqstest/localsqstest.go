package localsqstest

import (
	"errors"
	"os"
	"testing"

	"github.com/gwtap/gwtap/internal/localsqs"
)

// Start starts a local-aws-sqs server for t with default options and returns
// it; see StartWith.
func Start(t testing.TB) *localsqs.Server {
	t.Helper()
	return StartWith(t, localsqs.Options{})
}

// StartWith starts a local-aws-sqs server for t. The server lives as long as
// t.Context() and is closed by a Cleanup, which reports a server that crashed
// during the test as a test error. Each call gets its own server on its own
// port, so parallel tests do not share queues.
//
// When the stand-in is not installed it skips t, or fails it when the CI
// environment variable is set; any other startup failure fails t.
func StartWith(t testing.TB, opts localsqs.Options) *localsqs.Server {
	t.Helper()
	srv, err := localsqs.Start(t.Context(), opts)
	switch {
	case errors.Is(err, localsqs.ErrNotInstalled) && os.Getenv("CI") != "":
		t.Fatalf("CI must install the SQS stand-in: %v", err)
	case errors.Is(err, localsqs.ErrNotInstalled):
		t.Skipf("skipping: needs the SQS stand-in: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}
