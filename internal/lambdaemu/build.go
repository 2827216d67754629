package lambdaemu

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ErrBuild is wrapped by the error Build returns when the Go toolchain
// fails; the message holds its output.
var ErrBuild = errors.New("building the bootstrap failed")

// BuildFlags are the go build flags of every bootstrap, the Makefile's
// LAMBDA_FLAGS: no paths or symbols in the binary, and aws-lambda-go without
// its legacy RPC mode.
var BuildFlags = []string{"-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc"}

// BuildOptions says what Build compiles and where.
type BuildOptions struct {
	// Dir is the module root, where go runs. Required.
	Dir string
	// Package is the main package, relative to Dir (./functions/ingest).
	Package string
	// Output is the bootstrap's path; its directory is created.
	Output string
	// GOOS and GOARCH default to this machine's, so the result runs here.
	GOOS, GOARCH string
	// Go is the go command; empty means "go" from PATH.
	Go string
	// Force rebuilds even when Output is up to date.
	Force bool
}

// Build compiles a bootstrap as the Makefile does (CGO_ENABLED=0 and
// BuildFlags), unless Output already exists and is newer than every source
// it is built from: the .go and embedded files of each package of the main
// module (or of a replaced one) the package imports, and go.mod and go.sum.
// It reports whether it compiled. It returns an error wrapping ErrBuild,
// with the toolchain's output, when go list or go build fails, or ctx's
// error.
func Build(ctx context.Context, o BuildOptions) (bool, error) {
	if o.Dir == "" || o.Package == "" || o.Output == "" {
		return false, fmt.Errorf("%w: Dir, Package and Output are required", ErrBuild)
	}
	o.GOOS = cmp.Or(o.GOOS, runtime.GOOS)
	o.GOARCH = cmp.Or(o.GOARCH, runtime.GOARCH)
	o.Go = cmp.Or(o.Go, "go")
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.GOOS, "GOARCH="+o.GOARCH)

	if !o.Force {
		fresh, err := upToDate(ctx, o, env)
		if err != nil {
			return false, err
		}
		if fresh {
			return false, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(o.Output), 0o755); err != nil {
		return false, fmt.Errorf("creating the output directory: %w", err)
	}
	// Build next to the output and rename, so a concurrent run never
	// executes a half-written binary.
	tmp := o.Output + ".tmp" + newRequestID()[:8]
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", tmp, o.Package)
	if _, err := goCommand(ctx, o, env, args...); err != nil {
		_ = os.Remove(tmp)
		return false, err
	}
	if err := os.Rename(tmp, o.Output); err != nil {
		_ = os.Remove(tmp)
		return false, fmt.Errorf("installing the bootstrap: %w", err)
	}
	return true, nil
}

// upToDate reports whether o.Output is newer than all its sources.
func upToDate(ctx context.Context, o BuildOptions, env []string) (bool, error) {
	out, err := os.Stat(o.Output)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking the bootstrap: %w", err)
	}
	const format = `{{if and (not .Standard) .Module (or .Module.Main .Module.Replace)}}` +
		`{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`
	list, err := goCommand(ctx, o, env, "list", "-deps", "-tags", "lambda.norpc", "-f", format, o.Package)
	if err != nil {
		return false, err
	}
	sources := strings.Fields(string(list))
	sources = append(sources, filepath.Join(o.Dir, "go.mod"), filepath.Join(o.Dir, "go.sum"))
	built := out.ModTime()
	for _, src := range sources {
		fi, err := os.Stat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // go.sum of a module without dependencies
		}
		if err != nil {
			return false, fmt.Errorf("checking the bootstrap's sources: %w", err)
		}
		if !fi.ModTime().Before(built) {
			return false, nil
		}
	}
	return true, nil
}

func goCommand(ctx context.Context, o BuildOptions, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, o.Go, args...)
	cmd.Dir = o.Dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("go %s: %w", args[0], ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: go %s %s: %v\n%s", ErrBuild, args[0], o.Package, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}
