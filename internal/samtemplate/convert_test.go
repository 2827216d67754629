package samtemplate

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// parseValue parses "v: <yaml>" and returns the value of v.
func parseValue(t *testing.T, src string) (any, error) {
	t.Helper()
	tpl, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	return tpl.Document()["v"], nil
}

func TestParseConvertsShortForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"Ref", `v: !Ref TrafficQueue`, map[string]any{"Ref": "TrafficQueue"}},
		{"Ref to a pseudo parameter", `v: !Ref AWS::NoValue`, map[string]any{"Ref": "AWS::NoValue"}},
		{"Ref keeps a number-like name as text", `v: !Ref 123`, map[string]any{"Ref": "123"}},
		{"Condition", `v: !Condition HasAlarmTopic`, map[string]any{"Condition": "HasAlarmTopic"}},
		{"GetAtt dotted", `v: !GetAtt Queue.Arn`, map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}},
		{
			"GetAtt splits at the first dot only",
			`v: !GetAtt Db.Endpoint.Address`,
			map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}},
		},
		{"GetAtt list", `v: !GetAtt [Queue, QueueName]`, map[string]any{"Fn::GetAtt": []any{"Queue", "QueueName"}}},
		{
			"GetAtt list with a Ref attribute",
			`v: !GetAtt [Queue, !Ref AttributeName]`,
			map[string]any{"Fn::GetAtt": []any{"Queue", map[string]any{"Ref": "AttributeName"}}},
		},
		{"Sub string", `v: !Sub "${AWS::StackName}-traffic"`, map[string]any{"Fn::Sub": "${AWS::StackName}-traffic"}},
		{
			"Sub list with variables",
			"v: !Sub\n  - \"log-group:${Name}\"\n  - Name: !Ref Group\n",
			map[string]any{"Fn::Sub": []any{"log-group:${Name}", map[string]any{"Name": map[string]any{"Ref": "Group"}}}},
		},
		{
			"If with NoValue",
			`v: !If [HasTopic, [!Ref Topic], !Ref AWS::NoValue]`,
			map[string]any{"Fn::If": []any{
				"HasTopic",
				[]any{map[string]any{"Ref": "Topic"}},
				map[string]any{"Ref": "AWS::NoValue"},
			}},
		},
		{
			"If in block style",
			"v: !If\n  - Create\n  - !Ref Created\n  - !Ref Given\n",
			map[string]any{"Fn::If": []any{"Create", map[string]any{"Ref": "Created"}, map[string]any{"Ref": "Given"}}},
		},
		{
			"Equals",
			`v: !Equals [!Ref Name, ""]`,
			map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Name"}, ""}},
		},
		{
			"Not wrapping Equals",
			`v: !Not [!Equals [!Ref Arn, ""]]`,
			map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Arn"}, ""}}}},
		},
		{
			"And",
			`v: !And [!Condition A, !Condition B]`,
			map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}},
		},
		{
			"Or",
			`v: !Or [!Condition A, !Condition B, !Condition C]`,
			map[string]any{"Fn::Or": []any{
				map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}, map[string]any{"Condition": "C"},
			}},
		},
		{
			"Join",
			`v: !Join [":", [a, !Ref B]]`,
			map[string]any{"Fn::Join": []any{":", []any{"a", map[string]any{"Ref": "B"}}}},
		},
		{
			"Select from GetAZs",
			`v: !Select [0, !GetAZs ""]`,
			map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}},
		},
		{
			"Split",
			`v: !Split ["/", !Ref AWS::StackId]`,
			map[string]any{"Fn::Split": []any{"/", map[string]any{"Ref": "AWS::StackId"}}},
		},
		{
			"FindInMap",
			`v: !FindInMap [Sizes, !Ref AWS::Region, Memory]`,
			map[string]any{"Fn::FindInMap": []any{"Sizes", map[string]any{"Ref": "AWS::Region"}, "Memory"}},
		},
		{"GetAZs with a Ref", `v: !GetAZs {Ref: AWS::Region}`, map[string]any{"Fn::GetAZs": map[string]any{"Ref": "AWS::Region"}}},
		{"ImportValue", `v: !ImportValue shared-vpc-id`, map[string]any{"Fn::ImportValue": "shared-vpc-id"}},
		{
			"ImportValue of a long-form Sub",
			`v: !ImportValue {"Fn::Sub": "${Network}-vpc"}`,
			map[string]any{"Fn::ImportValue": map[string]any{"Fn::Sub": "${Network}-vpc"}},
		},
		{"Base64", `v: !Base64 "#!/bin/sh"`, map[string]any{"Fn::Base64": "#!/bin/sh"}},
		{
			"Cidr",
			`v: !Cidr [!GetAtt Vpc.CidrBlock, 6, 8]`,
			map[string]any{"Fn::Cidr": []any{map[string]any{"Fn::GetAtt": []any{"Vpc", "CidrBlock"}}, 6, 8}},
		},
		{
			"long forms pass through",
			`v: {"Fn::GetAtt": [Queue, Arn]}`,
			map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}},
		},
		{"unquoted date stays text", `v: 2012-10-17`, "2012-10-17"},
		{"quoted number stays text", `v: "262144"`, "262144"},
		{"integer", `v: 262144`, 262144},
		{"float", `v: 0.5`, 0.5},
		{"boolean", `v: true`, true},
		{"null", `v: ~`, nil},
		{
			"alias is expanded",
			"a: &actions [!Ref Topic]\nv: *actions\n",
			[]any{map[string]any{"Ref": "Topic"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseValue(t, tc.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.src, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tc.src, got, tc.want)
			}
			// The point of converting is JSON data a schema validator takes.
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("converted value is not JSON-compatible: %v", err)
			}
		})
	}
}

func TestParseRejectsMisusedShortForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"unknown tag", "a: 1\nv: !Reff Queue\n", 2},
		{"GetAtt without an attribute", `v: !GetAtt Queue`, 1},
		{"GetAtt with three items", `v: !GetAtt [Queue, Arn, Extra]`, 1},
		{"If with two arguments", `v: !If [Cond, a]`, 1},
		{"Equals on a scalar", `v: !Equals a`, 1},
		{"Not with two conditions", `v: !Not [!Condition A, !Condition B]`, 1},
		{"And with one condition", `v: !And [!Condition A]`, 1},
		{"Ref on a mapping", `v: !Ref {a: b}`, 1},
		{"Ref without a name", `v: !Ref ""`, 1},
		{"Sub with three items", `v: !Sub [a, {}, c]`, 1},
		{"Join on a mapping", `v: !Join {a: b}`, 1},
		{"FindInMap with two keys", `v: !FindInMap [Map, Key]`, 1},
		{"unknown tag nested in a list", "v:\n  - ok\n  - !Bogus x\n", 3},
		{"duplicate key", "v:\n  Type: a\n  Type: b\n", 3},
		{"merge key", "base: &b {x: 1}\nv:\n  <<: *b\n", 3},
		{"infinity", `v: .inf`, 1},
		{"empty template", ``, 1},
		{"top level list", `- a`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.src))
			var syntaxErr *SyntaxError
			if !errors.As(err, &syntaxErr) {
				t.Fatalf("Parse(%q) error = %v, want a *SyntaxError", tc.src, err)
			}
			if syntaxErr.Line != tc.line {
				t.Errorf("Parse(%q) reported line %d, want %d (%v)", tc.src, syntaxErr.Line, tc.line, err)
			}
		})
	}
}

func TestParseReportsInvalidYAML(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("v: [unclosed"))
	if err == nil {
		t.Fatal("Parse accepted unbalanced YAML")
	}
	var syntaxErr *SyntaxError
	if errors.As(err, &syntaxErr) {
		t.Errorf("YAML errors come from the YAML decoder, got %v", err)
	}
}
