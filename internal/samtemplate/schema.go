package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema for SAM templates, such as the official
// sam.schema.json published with aws-sam-translator.
type Schema struct {
	schema *jsonschema.Schema
}

// CompileSchema reads and compiles the JSON Schema at path. It returns the
// read error, a JSON error, or the compiler's error.
//
// The official SAM schema is draft-04 and its patterns are ECMAScript: it
// tells plain CloudFormation resources from SAM ones with a negative
// look-ahead, ^(?!AWS::Serverless::).+$, which Go's regexp (RE2) rejects.
// Patterns are therefore compiled with regexp2 in ECMAScript mode.
func CompileSchema(path string) (*Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening schema: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("decoding schema %s: %w", path, err)
	}

	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(compileECMAScript)
	// The schema's own $schema keyword selects draft-04; this only matters
	// for a schema that omits it.
	c.DefaultDraft(jsonschema.Draft4)
	// Naming the resource by its absolute path makes validation errors
	// point at the schema file actually used.
	url, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locating schema: %w", err)
	}
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("adding schema %s: %w", path, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling schema %s: %w", path, err)
	}
	return &Schema{schema: s}, nil
}

// Validate checks the template against the schema. It returns nil when the
// template conforms, otherwise an error wrapping a
// *jsonschema.ValidationError that lists every violation with its location.
func (s *Schema) Validate(t *Template) error {
	if err := s.schema.Validate(t.Document()); err != nil {
		return fmt.Errorf("template does not match the SAM schema: %w", err)
	}
	return nil
}

// ecmaScriptRegexp adapts regexp2 to jsonschema.Regexp.
type ecmaScriptRegexp struct {
	re *regexp2.Regexp
}

// MatchString reports whether s contains a match. regexp2 fails only on a
// match timeout, and none is set, so an error is treated as no match.
func (r ecmaScriptRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return err == nil && ok
}

// String returns the pattern's source.
func (r ecmaScriptRegexp) String() string {
	return r.re.String()
}

func compileECMAScript(pattern string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
	if err != nil {
		return nil, fmt.Errorf("compiling pattern %q: %w", pattern, err)
	}
	return ecmaScriptRegexp{re: re}, nil
}
