//go:build !unix

package lambdaemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// setProcessGroup does nothing: only Unix has process groups.
func setProcessGroup(*exec.Cmd) {}

// terminate stops the bootstrap; without SIGTERM it is a kill.
func terminate(cmd *exec.Cmd) error {
	return kill(cmd)
}

// kill stops the bootstrap at once.
func kill(cmd *exec.Cmd) error {
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing process %d: %w", cmd.Process.Pid, err)
	}
	return nil
}
