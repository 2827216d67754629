package samtemplate

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestSAMConfig checks samconfig.toml parses and holds the settings a plain
// `sam build && sam deploy` relies on.
func TestSAMConfig(t *testing.T) {
	t.Parallel()
	var config map[string]any
	if _, err := toml.DecodeFile(filepath.Join(moduleRoot, "samconfig.toml"), &config); err != nil {
		t.Fatalf("decoding samconfig.toml: %v", err)
	}
	tests := []struct {
		name string
		path []any
		want any
	}{
		// SAM CLI reads only this version of the format.
		{"format version", []any{"version"}, 0.1},
		{"stack name", []any{"default", "deploy", "parameters", "stack_name"}, "gwtap"},
		// The functions' roles are unnamed, so CAPABILITY_NAMED_IAM is not needed.
		{"capabilities", []any{"default", "deploy", "parameters", "capabilities"}, "CAPABILITY_IAM"},
		{"managed artifact bucket", []any{"default", "deploy", "parameters", "resolve_s3"}, true},
		{"change set shown before it runs", []any{"default", "deploy", "parameters", "confirm_changeset"}, true},
		{"validate runs cfn-lint", []any{"default", "validate", "parameters", "lint"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Lookup(config, tc.path...)
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%v = %#v (found %v), want %#v", tc.path, got, ok, tc.want)
			}
		})
	}
	if _, ok := Lookup(config, "default", "build", "parameters"); !ok {
		t.Error("samconfig.toml has no [default.build.parameters]")
	}
}
