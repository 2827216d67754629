//go:build unix

package lambdaemu

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the bootstrap in a process group of its own, so the
// signals that stop it reach anything it started, and a Ctrl-C meant for
// the emulator's own process does not reach it first.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the bootstrap's process group. A group that is
// already gone is not an error.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %v to process group %d: %w", sig, cmd.Process.Pid, err)
	}
	return nil
}

// terminate asks the bootstrap's process group to stop (SIGTERM).
func terminate(cmd *exec.Cmd) error {
	return signalGroup(cmd, syscall.SIGTERM)
}

// kill stops the bootstrap's process group at once (SIGKILL).
func kill(cmd *exec.Cmd) error {
	return signalGroup(cmd, syscall.SIGKILL)
}
