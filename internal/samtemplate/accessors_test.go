package samtemplate

import (
	"errors"
	"reflect"
	"testing"
)

// accessorTemplate exercises the accessors on shapes template.yaml does not
// (yet) contain: overridden globals, the single-document Policies form, IAM
// resources with statements.
const accessorTemplate = `
Parameters:
  Stage: {Type: String, Default: prod}
  Size: {Type: Number, Default: 128}
  Subnets: {Type: CommaDelimitedList, Default: "a, b"}
  Required: {Type: String}
Mappings:
  Memory:
    prod: {Size: 256}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  ProdOrDev: !Or [!Condition IsProd, !Condition IsDev]
  ProdAndDev: !And [!Condition IsProd, !Condition IsDev]
  InUSEast1: !Equals [!Ref AWS::Region, us-east-1]
  Loop: !Not [!Condition Loop]
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    Tracing: Active
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Architectures: [x86_64]
      Tracing: !If [IsProd, Active, PassThrough]
      Environment:
        Variables:
          OVERRIDDEN: local
          QUEUE: !Ref Queue
      Events:
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
      Policies:
        Statement:
          - Effect: Allow
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
  Queue:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: all
          PolicyDocument:
            Version: 2012-10-17
            Statement:
              Effect: Allow
              Action: ["s3:*"]
              Resource: "*"
`

func loadAccessorTemplate(t *testing.T) *Template {
	t.Helper()
	tpl, err := Parse([]byte(accessorTemplate))
	if err != nil {
		t.Fatalf("parsing the accessor template: %v", err)
	}
	return tpl
}

func TestFunctionPropertiesMergeGlobalsLikeSAM(t *testing.T) {
	t.Parallel()
	tpl := loadAccessorTemplate(t)
	props, err := tpl.FunctionProperties("Worker")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path []any
		want any
	}{
		{"a global the function does not set", []any{"Runtime"}, "provided.al2023"},
		{"lists are concatenated, global first", []any{"Architectures"}, []any{"arm64", "x86_64"}},
		{
			"an intrinsic replaces the global like a scalar",
			[]any{"Tracing"},
			map[string]any{"Fn::If": []any{"IsProd", "Active", "PassThrough"}},
		},
		{"maps merge: global key kept", []any{"Environment", "Variables", "SHARED"}, "global"},
		{"maps merge: function wins", []any{"Environment", "Variables", "OVERRIDDEN"}, "local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Lookup(props, tc.path...)
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%v = %#v (found %v), want %#v", tc.path, got, ok, tc.want)
			}
		})
	}

	// Merging must not leak into the template itself.
	if arch, _ := Lookup(tpl.Document(), "Globals", "Function", "Architectures"); !reflect.DeepEqual(arch, []any{"arm64"}) {
		t.Errorf("Globals changed by FunctionProperties: %#v", arch)
	}
}

func TestFunctionAccessors(t *testing.T) {
	t.Parallel()
	tpl := loadAccessorTemplate(t)

	env, err := tpl.EnvVars("Worker")
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := map[string]any{"SHARED": "global", "OVERRIDDEN": "local", "QUEUE": map[string]any{"Ref": "Queue"}}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("EnvVars = %#v, want %#v", env, wantEnv)
	}

	events, err := tpl.Events("Worker")
	if err != nil {
		t.Fatal(err)
	}
	if e := events["Tick"]; e.Type != "Schedule" || e.Properties["Schedule"] != "rate(1 minute)" {
		t.Errorf("Events[Tick] = %#v", e)
	}

	policies, err := tpl.Policies("Worker")
	if err != nil {
		t.Fatal(err)
	}
	if len(policies) != 1 {
		t.Errorf("a single policy document should come back as a one-item list, got %#v", policies)
	}

	for _, id := range []string{"Queue", "Missing"} {
		_, err := tpl.EnvVars(id)
		if !errors.Is(err, ErrNotFunction) && !errors.Is(err, ErrNoResource) {
			t.Errorf("EnvVars(%s) error = %v, want ErrNotFunction or ErrNoResource", id, err)
		}
	}
	if _, err := tpl.Events("Missing"); !errors.Is(err, ErrNoResource) {
		t.Errorf("Events(Missing) error = %v, want ErrNoResource", err)
	}
	if _, err := tpl.Policies("Queue"); !errors.Is(err, ErrNotFunction) {
		t.Errorf("Policies(Queue) error = %v, want ErrNotFunction", err)
	}
}

func TestIAMStatementsFindsEveryDocument(t *testing.T) {
	t.Parallel()
	tpl := loadAccessorTemplate(t)
	got := map[string][]any{}
	for _, st := range tpl.IAMStatements() {
		got[st.Where] = st.Actions
	}
	want := map[string][]any{
		"Role.Policies[0].PolicyDocument.Statement": {"s3:*"},
		"Worker.Policies[0].Statement[0]":           {"sqs:SendMessage"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IAMStatements actions = %#v, want %#v", got, want)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tpl := loadAccessorTemplate(t)
	pseudo := map[string]string{"AWS::Region": "eu-west-1", "AWS::StackName": "gwtap"}
	tests := []struct {
		name   string
		src    string
		values map[string]string
		want   any
	}{
		{"parameter default", `v: !Ref Stage`, nil, "prod"},
		{"given value beats the default", `v: !Ref Stage`, map[string]string{"Stage": "dev"}, "dev"},
		{"Number parameters resolve to text", `v: !Ref Size`, nil, "128"},
		{"CommaDelimitedList becomes a list", `v: !Ref Subnets`, nil, []any{"a", "b"}},
		{"resource Ref stays", `v: !Ref Queue`, nil, map[string]any{"Ref": "Queue"}},
		{"resource Ref given a value", `v: !Ref Queue`, map[string]string{"Queue": "https://q"}, "https://q"},
		{"unknown pseudo parameter stays", `v: !Ref AWS::AccountId`, nil, map[string]any{"Ref": "AWS::AccountId"}},
		{"If true branch", `v: !If [IsProd, yes-prod, not-prod]`, nil, "yes-prod"},
		{"If false branch", `v: !If [IsProd, yes-prod, not-prod]`, map[string]string{"Stage": "dev"}, "not-prod"},
		{"Or", `v: !If [ProdOrDev, any, none]`, nil, "any"},
		{"And", `v: !If [ProdAndDev, both, "no"]`, nil, "no"},
		{
			"NoValue drops the map entry",
			"v:\n  keep: 1\n  drop: !If [IsProd, !Ref AWS::NoValue, x]\n",
			nil,
			map[string]any{"keep": 1},
		},
		{"NoValue drops the list item", `v: [a, !If [IsProd, !Ref AWS::NoValue, b]]`, nil, []any{"a"}},
		{"Sub with parameters and pseudo parameters", `v: !Sub "${AWS::StackName}-${Stage}"`, pseudo, "gwtap-prod"},
		{
			"Sub keeps what it cannot know",
			`v: !Sub "${AWS::StackName}:${AWS::AccountId}:${Queue.Arn}:${!Literal}"`,
			pseudo,
			map[string]any{"Fn::Sub": "gwtap:${AWS::AccountId}:${Queue.Arn}:${!Literal}"},
		},
		{"Sub unescapes when complete", `v: !Sub "${Stage}-${!Literal}"`, nil, "prod-${Literal}"},
		{
			"Sub list form",
			"v: !Sub\n  - \"${Name}/${Other}\"\n  - Name: !If [IsProd, p, d]\n    Other: !GetAtt Queue.Arn\n",
			nil,
			map[string]any{"Fn::Sub": []any{"p/${Other}", map[string]any{"Other": map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}}}}},
		},
		{"Join", `v: !Join ["-", [a, !Ref Stage]]`, nil, "a-prod"},
		{"Select", `v: !Select [1, !Ref Subnets]`, nil, "b"},
		{"Split", `v: !Split [":", "a:b"]`, nil, []any{"a", "b"}},
		{"FindInMap", `v: !FindInMap [Memory, !Ref Stage, Size]`, nil, 256},
		{
			"GetAtt is kept",
			`v: !GetAtt [Queue, !Ref Stage]`,
			nil,
			map[string]any{"Fn::GetAtt": []any{"Queue", "prod"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := parseValue(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Resolve(v, tc.values)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", tc.src, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Resolve(%s) = %#v, want %#v", tc.src, got, tc.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	tpl := loadAccessorTemplate(t)
	tests := []struct {
		name         string
		src          string
		unresolvable bool
	}{
		{"parameter without value or default", `v: !Ref Required`, false},
		{"undefined condition", `v: !If [Nope, a, b]`, false},
		{"condition referring to itself", `v: !If [Loop, a, b]`, false},
		{"condition on an unknown pseudo parameter", `v: !If [InUSEast1, a, b]`, true},
		{"Select out of range", `v: !Select [5, !Ref Subnets]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := parseValue(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Resolve(v, nil)
			if err == nil {
				t.Fatalf("Resolve(%s) succeeded, want an error", tc.src)
			}
			if got := errors.Is(err, ErrUnresolvable); got != tc.unresolvable {
				t.Errorf("Resolve(%s) error %v: errors.Is(ErrUnresolvable) = %v, want %v", tc.src, err, got, tc.unresolvable)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"a": []any{map[string]any{"b": "found"}}}
	tests := []struct {
		name string
		path []any
		want any
		ok   bool
	}{
		{"map then list then map", []any{"a", 0, "b"}, "found", true},
		{"empty path returns the value", nil, doc, true},
		{"missing key", []any{"x"}, nil, false},
		{"index out of range", []any{"a", 1}, nil, false},
		{"string step on a list", []any{"a", "b"}, nil, false},
		{"unsupported step type", []any{1.5}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Lookup(doc, tc.path...)
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Lookup(%v) = %#v, %v; want %#v, %v", tc.path, got, ok, tc.want, tc.ok)
			}
		})
	}
}
