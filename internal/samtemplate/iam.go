package samtemplate

import "fmt"

// Statement is one IAM policy statement written in the template.
type Statement struct {
	// Where names the statement's place, such as
	// "IngestFunction.Policies[1].Statement[0]", for failure messages.
	Where string
	// Actions is Action as a list (a single action becomes a one-item list);
	// nil when the statement has none.
	Actions []any
	// NotActions is NotAction as a list; nil when the statement has none.
	NotActions []any
	// Resources is Resource as a list; nil when the statement has none.
	Resources []any
	// Raw is the whole statement.
	Raw map[string]any
}

// IAMStatements returns every IAM statement written in the template: the
// inline policy documents of SAM functions and state machines, and the policy
// documents of IAM roles, policies, managed policies, and SQS and SNS
// resource policies. SAM policy templates (SQSSendMessagePolicy, ...) and
// managed policy names are not statements and are not returned; see
// [Template.Policies] for those.
func (t *Template) IAMStatements() []Statement {
	var out []Statement
	for _, r := range t.sortedResources() {
		id := r.LogicalID
		switch r.Type {
		case FunctionType, "AWS::Serverless::StateMachine":
			policies := r.Properties["Policies"]
			if _, isList := policies.([]any); !isList {
				policies = []any{policies}
			}
			for i, p := range policies.([]any) {
				out = appendDocument(out, fmt.Sprintf("%s.Policies[%d]", id, i), p)
			}
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			list, _ := r.Properties["Policies"].([]any)
			for i, p := range list {
				doc, _ := Lookup(p, "PolicyDocument")
				out = appendDocument(out, fmt.Sprintf("%s.Policies[%d].PolicyDocument", id, i), doc)
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy":
			out = appendDocument(out, id+".PolicyDocument", r.Properties["PolicyDocument"])
		}
	}
	return out
}

// appendDocument appends the statements of a policy document; anything that
// is not a document (a managed policy name, a SAM policy template) is skipped.
func appendDocument(out []Statement, where string, doc any) []Statement {
	m, ok := doc.(map[string]any)
	if !ok {
		return out
	}
	switch st := m["Statement"].(type) {
	case map[string]any:
		out = append(out, newStatement(where+".Statement", st))
	case []any:
		for i, item := range st {
			if sm, ok := item.(map[string]any); ok {
				out = append(out, newStatement(fmt.Sprintf("%s.Statement[%d]", where, i), sm))
			}
		}
	}
	return out
}

func newStatement(where string, raw map[string]any) Statement {
	return Statement{
		Where:      where,
		Actions:    asList(raw["Action"]),
		NotActions: asList(raw["NotAction"]),
		Resources:  asList(raw["Resource"]),
		Raw:        raw,
	}
}

// asList returns IAM's "a value or a list of values" as a list.
func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}
