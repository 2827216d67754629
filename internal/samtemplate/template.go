package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrNoResource is returned by the function accessors when the template has no
// resource with the requested logical id.
var ErrNoResource = errors.New("no such resource")

// ErrNotFunction is returned by the function accessors when the resource
// exists but is not an AWS::Serverless::Function.
var ErrNotFunction = errors.New("resource is not an AWS::Serverless::Function")

// FunctionType is the resource type of a SAM function.
const FunctionType = "AWS::Serverless::Function"

// Template is a SAM template converted to JSON-compatible data, with every
// short-form tag replaced by its long form.
type Template struct {
	doc map[string]any
}

// Resource is one entry of the template's Resources section.
type Resource struct {
	// LogicalID is the resource's key in Resources.
	LogicalID string
	// Type is the resource type, such as AWS::SQS::Queue.
	Type string
	// Condition names the condition that decides whether the resource is
	// created; empty when it always is.
	Condition string
	// Properties is the resource's Properties section; never nil.
	Properties map[string]any
	// Metadata is the resource's Metadata section; never nil.
	Metadata map[string]any
	// Raw is the whole resource entry, for attributes not covered above
	// (DependsOn, DeletionPolicy, ...).
	Raw map[string]any
}

// Event is one entry of a SAM function's Events.
type Event struct {
	// Name is the event's key in Events.
	Name string
	// Type is the event source type, such as CloudWatchLogs or SQS.
	Type string
	// Properties is the event's Properties; never nil.
	Properties map[string]any
}

// Load reads and parses the template at path. It returns the file's read
// error, a YAML error, or a *SyntaxError for content that has no JSON form.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return t, nil
}

// Parse converts a YAML (or JSON) template. It returns a YAML error, or a
// *SyntaxError for an unsupported tag, a misused short form, a duplicate key,
// or a top level that is not a mapping.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	if root.Kind == 0 {
		return nil, &SyntaxError{Line: 1, Column: 1, Reason: "empty template"}
	}
	v, err := convertDocument(&root)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxErrorf(root.Content[0], "the template must be a mapping")
	}
	return &Template{doc: doc}, nil
}

// Document returns the converted template. It is the template's own data, not
// a copy: to change it, for example to prove a broken template is rejected,
// call Clone first.
func (t *Template) Document() map[string]any {
	return t.doc
}

// Clone returns a deep copy of the template.
func (t *Template) Clone() *Template {
	doc, _ := deepCopy(t.doc).(map[string]any)
	return &Template{doc: doc}
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = deepCopy(item)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = deepCopy(item)
		}
		return out
	}
	return v
}

// section returns a top-level section such as Resources, or an empty map.
func (t *Template) section(name string) map[string]any {
	m, _ := t.doc[name].(map[string]any)
	return m
}

// Resources returns every resource keyed by logical id.
func (t *Template) Resources() map[string]Resource {
	out := make(map[string]Resource)
	for id := range t.section("Resources") {
		if r, ok := t.Resource(id); ok {
			out[id] = r
		}
	}
	return out
}

// ResourcesOfType returns the resources of the given type, sorted by logical
// id so that test failures come out in a stable order.
func (t *Template) ResourcesOfType(resourceType string) []Resource {
	var out []Resource
	for _, r := range t.sortedResources() {
		if r.Type == resourceType {
			out = append(out, r)
		}
	}
	return out
}

func (t *Template) sortedResources() []Resource {
	var out []Resource
	for _, id := range slices.Sorted(maps.Keys(t.section("Resources"))) {
		if r, ok := t.Resource(id); ok {
			out = append(out, r)
		}
	}
	return out
}

// Resource returns the resource with the given logical id, and whether it
// exists and is a mapping.
func (t *Template) Resource(logicalID string) (Resource, bool) {
	raw, ok := t.section("Resources")[logicalID].(map[string]any)
	if !ok {
		return Resource{}, false
	}
	r := Resource{LogicalID: logicalID, Raw: raw}
	r.Type, _ = raw["Type"].(string)
	r.Condition, _ = raw["Condition"].(string)
	r.Properties, _ = raw["Properties"].(map[string]any)
	if r.Properties == nil {
		r.Properties = map[string]any{}
	}
	r.Metadata, _ = raw["Metadata"].(map[string]any)
	if r.Metadata == nil {
		r.Metadata = map[string]any{}
	}
	return r, true
}

// Parameter returns the declaration of a template parameter (Type, Default,
// AllowedValues, ...), and whether it exists.
func (t *Template) Parameter(name string) (map[string]any, bool) {
	p, ok := t.section("Parameters")[name].(map[string]any)
	return p, ok
}

// Condition returns the definition of a named condition, and whether it
// exists.
func (t *Template) Condition(name string) (any, bool) {
	c, ok := t.section("Conditions")[name]
	return c, ok
}

// Output returns an entry of Outputs (Description, Value, ...), and whether
// it exists.
func (t *Template) Output(name string) (map[string]any, bool) {
	o, ok := t.section("Outputs")[name].(map[string]any)
	return o, ok
}

// function returns the SAM function with the given logical id, or
// ErrNoResource or ErrNotFunction.
func (t *Template) function(logicalID string) (Resource, error) {
	r, ok := t.Resource(logicalID)
	if !ok {
		return Resource{}, fmt.Errorf("%s: %w", logicalID, ErrNoResource)
	}
	if r.Type != FunctionType {
		return Resource{}, fmt.Errorf("%s is %s: %w", logicalID, r.Type, ErrNotFunction)
	}
	return r, nil
}

// FunctionProperties returns a SAM function's properties as SAM deploys them:
// Globals.Function merged under the function's own. It returns ErrNoResource
// or ErrNotFunction.
//
// The merge follows SAM's rules: maps merge key by key, lists are
// concatenated (global items first), and anything else, intrinsics included,
// is taken from the function when it sets it.
func (t *Template) FunctionProperties(logicalID string) (map[string]any, error) {
	r, err := t.function(logicalID)
	if err != nil {
		return nil, err
	}
	globals, _ := t.section("Globals")["Function"].(map[string]any)
	merged, _ := mergeGlobals(deepCopy(globals), deepCopy(r.Properties)).(map[string]any)
	if merged == nil {
		merged = map[string]any{}
	}
	return merged, nil
}

func mergeGlobals(global, local any) any {
	if global == nil {
		return local
	}
	if local == nil {
		return global
	}
	gm, gIsMap := global.(map[string]any)
	lm, lIsMap := local.(map[string]any)
	if gIsMap && lIsMap && !isIntrinsic(gm) && !isIntrinsic(lm) {
		out := gm
		for k, v := range lm {
			out[k] = mergeGlobals(gm[k], v)
		}
		return out
	}
	gl, gIsList := global.([]any)
	ll, lIsList := local.([]any)
	if gIsList && lIsList {
		return append(gl, ll...)
	}
	return local
}

// isIntrinsic reports whether m is a single-key intrinsic such as {"Ref": x}
// or {"Fn::If": [...]}, which SAM's Globals merge treats as a scalar.
func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// EnvVars returns a SAM function's environment variables, those from
// Globals.Function included. The map is empty when it sets none. It returns
// ErrNoResource or ErrNotFunction.
func (t *Template) EnvVars(functionID string) (map[string]any, error) {
	props, err := t.FunctionProperties(functionID)
	if err != nil {
		return nil, err
	}
	vars, _ := Lookup(props, "Environment", "Variables")
	m, _ := vars.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Events returns a SAM function's event sources keyed by event name. It
// returns ErrNoResource or ErrNotFunction.
func (t *Template) Events(functionID string) (map[string]Event, error) {
	r, err := t.function(functionID)
	if err != nil {
		return nil, err
	}
	raw, _ := r.Properties["Events"].(map[string]any)
	out := make(map[string]Event, len(raw))
	for name, v := range raw {
		m, _ := v.(map[string]any)
		e := Event{Name: name}
		e.Type, _ = m["Type"].(string)
		e.Properties, _ = m["Properties"].(map[string]any)
		if e.Properties == nil {
			e.Properties = map[string]any{}
		}
		out[name] = e
	}
	return out, nil
}

// Policies returns a SAM function's Policies as a list, whichever of SAM's
// accepted forms (a managed policy name, one policy document, a list) the
// template uses. Each item is a string (a managed policy), a map with a
// Statement (a policy document), or a single-key map naming a SAM policy
// template. It returns ErrNoResource or ErrNotFunction.
func (t *Template) Policies(functionID string) ([]any, error) {
	r, err := t.function(functionID)
	if err != nil {
		return nil, err
	}
	switch p := r.Properties["Policies"].(type) {
	case nil:
		return nil, nil
	case []any:
		return p, nil
	default:
		return []any{p}, nil
	}
}

// Lookup walks v along path, where a string indexes a map and an int indexes
// a list, and returns the value found and whether every step existed.
func Lookup(v any, path ...any) (any, bool) {
	for _, step := range path {
		switch key := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[key]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || key < 0 || key >= len(l) {
				return nil, false
			}
			v = l[key]
		default:
			return nil, false
		}
	}
	return v, true
}
