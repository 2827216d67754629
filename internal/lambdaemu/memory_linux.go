//go:build linux

package lambdaemu

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// readHWM returns the peak resident set size of process pid so far, in
// bytes: VmHWM in /proc/PID/status.
func readHWM(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading the peak RSS of process %d: %w", pid, err)
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("reading the peak RSS of process %d: no VmHWM line in /proc/%d/status", pid, pid)
}

// exitMaxRSS returns ru_maxrss of an exited process in bytes (Linux reports
// kilobytes), or 0 when unknown.
func exitMaxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}
