//go:build !unix

package localsqs

import (
	"fmt"
	"os/exec"
)

// setProcessGroup does nothing where there are no Unix process groups; the
// server starts no processes of its own, so killing it is enough.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the server process.
func killProcessGroup(cmd *exec.Cmd) error {
	if err := cmd.Process.Kill(); err != nil {
		return fmt.Errorf("killing process %d: %w", cmd.Process.Pid, err)
	}
	return nil
}
