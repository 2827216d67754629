//go:build unix

package localsqs

import (
	"fmt"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the server in a process group of its own, so
// killProcessGroup reaches anything it starts. A Ctrl-C in a terminal then
// reaches only `go test`, whose exit closes the server's stdin and so stops it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup sends SIGKILL to the server's process group. The server
// holds nothing but memory, so there is nothing to shut down gracefully.
func killProcessGroup(cmd *exec.Cmd) error {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing process group %d: %w", cmd.Process.Pid, err)
	}
	return nil
}
