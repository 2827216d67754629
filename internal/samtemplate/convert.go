package samtemplate

import (
	"fmt"
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// SyntaxError reports a template construct that cannot be converted to JSON
// data: an unknown or misused short-form tag, a duplicate key, a value JSON
// cannot represent. Line and Column locate it in the YAML source.
type SyntaxError struct {
	Line   int
	Column int
	Reason string
}

// Error returns the position and the reason.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Reason)
}

func syntaxErrorf(n *yaml.Node, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: n.Line, Column: n.Column, Reason: fmt.Sprintf(format, args...)}
}

// shape says which YAML node kinds a short-form tag accepts and, for
// sequences, how many elements CloudFormation requires.
type shape int

const (
	// scalarOnly: !Ref and !Condition name something, so only a string fits.
	scalarOnly shape = iota
	// sequenceOnly: the function takes a list of arguments.
	sequenceOnly
	// anyNode: the argument is itself a value, possibly another intrinsic.
	anyNode
	// getAttForm: "Resource.Attribute" or [Resource, Attribute].
	getAttForm
	// subForm: "template" or [template, {variables}].
	subForm
)

type shortForm struct {
	longName string
	shape    shape
	// minArgs and maxArgs bound a sequence's length; CloudFormation rejects
	// other lengths, so catching them here gives the line number.
	minArgs, maxArgs int
}

// shortFormFor returns the long form of a CloudFormation short-form tag.
// It is a switch rather than a package-level map so there is no shared state.
func shortFormFor(tag string) (shortForm, bool) {
	switch tag {
	case "!Ref":
		return shortForm{longName: "Ref", shape: scalarOnly}, true
	case "!Condition":
		return shortForm{longName: "Condition", shape: scalarOnly}, true
	case "!GetAtt":
		return shortForm{longName: "Fn::GetAtt", shape: getAttForm, minArgs: 2, maxArgs: 2}, true
	case "!Sub":
		return shortForm{longName: "Fn::Sub", shape: subForm, minArgs: 2, maxArgs: 2}, true
	case "!If":
		return shortForm{longName: "Fn::If", shape: sequenceOnly, minArgs: 3, maxArgs: 3}, true
	case "!Equals":
		return shortForm{longName: "Fn::Equals", shape: sequenceOnly, minArgs: 2, maxArgs: 2}, true
	case "!Not":
		return shortForm{longName: "Fn::Not", shape: sequenceOnly, minArgs: 1, maxArgs: 1}, true
	case "!And":
		return shortForm{longName: "Fn::And", shape: sequenceOnly, minArgs: 2, maxArgs: 10}, true
	case "!Or":
		return shortForm{longName: "Fn::Or", shape: sequenceOnly, minArgs: 2, maxArgs: 10}, true
	case "!Join":
		return shortForm{longName: "Fn::Join", shape: sequenceOnly, minArgs: 2, maxArgs: 2}, true
	case "!Select":
		return shortForm{longName: "Fn::Select", shape: sequenceOnly, minArgs: 2, maxArgs: 2}, true
	case "!Split":
		return shortForm{longName: "Fn::Split", shape: sequenceOnly, minArgs: 2, maxArgs: 2}, true
	case "!FindInMap":
		// The fourth argument is the DefaultValue the LanguageExtensions
		// transform allows.
		return shortForm{longName: "Fn::FindInMap", shape: sequenceOnly, minArgs: 3, maxArgs: 4}, true
	case "!Cidr":
		return shortForm{longName: "Fn::Cidr", shape: sequenceOnly, minArgs: 3, maxArgs: 3}, true
	case "!GetAZs":
		return shortForm{longName: "Fn::GetAZs", shape: anyNode}, true
	case "!ImportValue":
		return shortForm{longName: "Fn::ImportValue", shape: anyNode}, true
	case "!Base64":
		return shortForm{longName: "Fn::Base64", shape: anyNode}, true
	}
	return shortForm{}, false
}

// convertDocument turns a parsed YAML document into JSON-compatible data.
func convertDocument(doc *yaml.Node) (any, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, syntaxErrorf(doc, "expected a single YAML document")
	}
	return convert(doc.Content[0])
}

func convert(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return convert(n.Alias)
	}
	tag := n.ShortTag()
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		return convertShortForm(n, tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return convertMapping(n)
	case yaml.SequenceNode:
		return convertSequence(n)
	case yaml.ScalarNode:
		return convertScalar(n)
	}
	return nil, syntaxErrorf(n, "unexpected YAML node kind %d", n.Kind)
}

func convertShortForm(n *yaml.Node, tag string) (any, error) {
	form, ok := shortFormFor(tag)
	if !ok {
		return nil, syntaxErrorf(n, "unsupported tag %s", tag)
	}
	// Convert the node as if it carried no tag, then wrap the result.
	untagged := *n
	untagged.Tag = ""
	if n.Kind == yaml.ScalarNode {
		// A tagged scalar is always text to CloudFormation: !Ref 123 names
		// the logical id "123", not a number.
		untagged.Tag = "!!str"
	}

	switch form.shape {
	case scalarOnly:
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			return nil, syntaxErrorf(n, "%s takes a non-empty name", tag)
		}
		return map[string]any{form.longName: n.Value}, nil

	case getAttForm:
		if n.Kind == yaml.ScalarNode {
			// The resource's logical id has no dots, but the attribute may
			// (Endpoint.Address), so split at the first dot only.
			resource, attribute, found := strings.Cut(n.Value, ".")
			if !found || resource == "" || attribute == "" {
				return nil, syntaxErrorf(n, "%s %q is not of the form Resource.Attribute", tag, n.Value)
			}
			return map[string]any{form.longName: []any{resource, attribute}}, nil
		}
		if n.Kind != yaml.SequenceNode {
			return nil, syntaxErrorf(n, "%s takes Resource.Attribute or [Resource, Attribute]", tag)
		}

	case subForm:
		if n.Kind == yaml.ScalarNode {
			return map[string]any{form.longName: n.Value}, nil
		}
		if n.Kind != yaml.SequenceNode {
			return nil, syntaxErrorf(n, "%s takes a string or [string, {variables}]", tag)
		}

	case sequenceOnly:
		if n.Kind != yaml.SequenceNode {
			return nil, syntaxErrorf(n, "%s takes a list of arguments", tag)
		}

	case anyNode:
		v, err := convert(&untagged)
		if err != nil {
			return nil, err
		}
		return map[string]any{form.longName: v}, nil
	}

	if got := len(n.Content); got < form.minArgs || got > form.maxArgs {
		if form.minArgs == form.maxArgs {
			return nil, syntaxErrorf(n, "%s takes %d arguments, got %d", tag, form.minArgs, got)
		}
		return nil, syntaxErrorf(n, "%s takes %d to %d arguments, got %d", tag, form.minArgs, form.maxArgs, got)
	}
	args, err := convertSequence(&untagged)
	if err != nil {
		return nil, err
	}
	return map[string]any{form.longName: args}, nil
}

func convertMapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, syntaxErrorf(k, "mapping keys must be scalars")
		}
		if k.ShortTag() == "!!merge" {
			// Merge keys would make a resource's real properties depend on
			// YAML anchors elsewhere; CloudFormation templates do not use them.
			return nil, syntaxErrorf(k, "YAML merge keys (<<) are not supported")
		}
		if _, dup := out[k.Value]; dup {
			// yaml.v3 keeps the last of duplicate keys when building nodes;
			// in a template a duplicate is always a copy-paste mistake that
			// silently drops the first value.
			return nil, syntaxErrorf(k, "duplicate key %q", k.Value)
		}
		cv, err := convert(v)
		if err != nil {
			return nil, err
		}
		out[k.Value] = cv
	}
	return out, nil
}

func convertSequence(n *yaml.Node) ([]any, error) {
	out := make([]any, 0, len(n.Content))
	for _, item := range n.Content {
		cv, err := convert(item)
		if err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, nil
}

func convertScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		// CloudFormation has no timestamp type: an unquoted date such as an
		// IAM policy's Version: 2012-10-17 is the string "2012-10-17".
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, syntaxErrorf(n, "decoding boolean %q: %v", n.Value, err)
		}
		return b, nil
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, syntaxErrorf(n, "decoding integer %q: %v", n.Value, err)
		}
		return v, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, syntaxErrorf(n, "decoding number %q: %v", n.Value, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, syntaxErrorf(n, "%q has no JSON representation", n.Value)
		}
		return f, nil
	}
	return nil, syntaxErrorf(n, "unsupported scalar tag %s", n.ShortTag())
}
