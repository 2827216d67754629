// Tests of the build that `sam build` drives: the Makefile's
// build-<LogicalId> targets must write a Lambda-ready bootstrap into
// ARTIFACTS_DIR for the architecture asked for.
package gwtap_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxBootstrapBytes is DESIGN's size budget for each function binary.
const maxBootstrapBytes = 10 << 20

func TestSAMBuildTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tests := []struct {
		target, arch string
		machine      elf.Machine
	}{
		{"build-IngestFunction", "arm64", elf.EM_AARCH64},
		{"build-IngestFunction", "x86_64", elf.EM_X86_64},
		{"build-ForwardFunction", "arm64", elf.EM_AARCH64},
		{"build-ForwardFunction", "x86_64", elf.EM_X86_64},
		{"build-ReplayFunction", "arm64", elf.EM_AARCH64},
		{"build-ReplayFunction", "x86_64", elf.EM_X86_64},
	}
	for _, tt := range tests {
		t.Run(tt.target+"/"+tt.arch, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.CommandContext(t.Context(), "make", "-s", tt.target, "ARTIFACTS_DIR="+dir, "ARCH="+tt.arch)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make %s: %v\n%s", tt.target, err, out)
			}
			path := filepath.Join(dir, "bootstrap")
			info, err := os.Stat(path)
			if err != nil {
				t.Fatalf("no bootstrap written: %v", err)
			}
			if info.Mode()&0o111 == 0 {
				t.Error("bootstrap is not executable")
			}
			if info.Size() > maxBootstrapBytes {
				t.Errorf("bootstrap is %d bytes, budget %d", info.Size(), maxBootstrapBytes)
			}
			f, err := elf.Open(path)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF binary: %v", err)
			}
			defer f.Close()
			if f.Machine != tt.machine {
				t.Errorf("bootstrap is for %v, want %v", f.Machine, tt.machine)
			}
			if f.Section(".interp") != nil {
				t.Error("bootstrap is dynamically linked; provided.al2023 needs a static binary (CGO_ENABLED=0)")
			}
			if f.Section(".debug_info") != nil || f.Section(".symtab") != nil {
				t.Error("bootstrap keeps debug symbols; build with -ldflags '-s -w'")
			}
		})
	}
	t.Run("without ARTIFACTS_DIR", func(t *testing.T) {
		cmd := exec.CommandContext(t.Context(), "make", "-s", "build-IngestFunction", "ARTIFACTS_DIR=")
		if err := cmd.Run(); err == nil {
			t.Error("the target succeeded without ARTIFACTS_DIR; it must refuse rather than write to /bootstrap")
		}
	})
}
