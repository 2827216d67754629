//go:build darwin

package lambdaemu

import (
	"errors"
	"os"
	"syscall"
)

// readHWM is unavailable: macOS has no /proc.
func readHWM(int) (int64, error) {
	return 0, errors.New("the peak RSS of a running process needs Linux's /proc")
}

// exitMaxRSS returns ru_maxrss of an exited process in bytes (macOS reports
// bytes), or 0 when unknown.
func exitMaxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
