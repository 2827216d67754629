package samtemplate

import "testing"

// TestECMAScriptPatterns covers the pattern the SAM schema relies on to tell
// plain CloudFormation resources from SAM ones; Go's regexp cannot compile it.
func TestECMAScriptPatterns(t *testing.T) {
	t.Parallel()
	re, err := compileECMAScript(`^(?!AWS::Serverless::).+$`)
	if err != nil {
		t.Fatalf("compiling the look-ahead: %v", err)
	}
	tests := []struct {
		resourceType string
		want         bool
	}{
		{"AWS::SQS::Queue", true},
		{"AWS::CloudWatch::Alarm", true},
		{"AWS::Serverless::Function", false},
		{"AWS::Serverless::Functon", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := re.MatchString(tc.resourceType); got != tc.want {
			t.Errorf("MatchString(%q) = %v, want %v", tc.resourceType, got, tc.want)
		}
	}
	if _, err := compileECMAScript(`(unclosed`); err == nil {
		t.Error("an invalid pattern compiled")
	}
}

func TestCompileSchemaReportsAMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := CompileSchema("testdata-does-not-exist.json"); err == nil {
		t.Fatal("CompileSchema succeeded on a missing file")
	}
}
