package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwtap/gwtap/internal/collector"
	"github.com/gwtap/gwtap/internal/forward"
	"github.com/gwtap/gwtap/internal/ingest"
	"github.com/gwtap/gwtap/internal/replay"
)

// moduleRoot is the repository root, seen from this package's directory.
var moduleRoot = filepath.Join("..", "..")

// schemaPath is the official SAM schema. CI clones the repository next to
// shared/, so it lives outside the module.
var schemaPath = filepath.Join(moduleRoot, "..", "shared", "reference", "sam.schema.json")

// compiledSchema compiles the 750 KB schema once for all tests in the package.
var compiledSchema = sync.OnceValues(func() (*Schema, error) {
	return CompileSchema(schemaPath)
})

func samSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := compiledSchema()
	if err != nil {
		t.Fatalf("compiling the SAM schema (expected at %s, beside the repository): %v", schemaPath, err)
	}
	return s
}

// loadTemplate returns a fresh copy of template.yaml for each caller, so tests
// that change it in memory cannot affect each other.
func loadTemplate(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load(filepath.Join(moduleRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("loading template.yaml: %v", err)
	}
	return tpl
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

func getAtt(resource, attribute string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{resource, attribute}}
}

// mustLookup returns the value at path or stops the test.
func mustLookup(t *testing.T, v any, path ...any) any {
	t.Helper()
	got, ok := Lookup(v, path...)
	if !ok {
		t.Fatalf("template has nothing at %v", path)
	}
	return got
}

func mustResource(t *testing.T, tpl *Template, logicalID string) Resource {
	t.Helper()
	r, ok := tpl.Resource(logicalID)
	if !ok {
		t.Fatalf("template has no resource %s", logicalID)
	}
	return r
}

func TestTemplateMatchesSAMSchema(t *testing.T) {
	t.Parallel()
	if err := samSchema(t).Validate(loadTemplate(t)); err != nil {
		t.Fatal(err)
	}
}

// TestSAMSchemaRejectsBrokenTemplates proves the validation above can fail:
// each case breaks a copy of the real template the way a careless edit would.
func TestSAMSchemaRejectsBrokenTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
	}{
		{"unknown property on a SAM function", func(doc map[string]any) {
			fn, _ := Lookup(doc, "Resources", "IngestFunction", "Properties")
			fn.(map[string]any)["Handlr"] = "bootstrap"
		}},
		{"retry count of the wrong type", func(doc map[string]any) {
			cfg, _ := Lookup(doc, "Resources", "IngestFunction", "Properties", "EventInvokeConfig")
			cfg.(map[string]any)["MaximumRetryAttempts"] = "two"
		}},
		{"CloudWatchLogs event without FilterPattern", func(doc map[string]any) {
			props, _ := Lookup(doc, "Resources", "IngestFunction", "Properties", "Events", "AccessLogs", "Properties")
			delete(props.(map[string]any), "FilterPattern")
		}},
		{"OnFailure destination of an unknown type", func(doc map[string]any) {
			onFailure, _ := Lookup(doc, "Resources", "IngestFunction", "Properties",
				"EventInvokeConfig", "DestinationConfig", "OnFailure")
			onFailure.(map[string]any)["Type"] = "Queue"
		}},
		{"unknown key in Globals.Function", func(doc map[string]any) {
			g, _ := Lookup(doc, "Globals", "Function")
			g.(map[string]any)["Memory"] = 128
		}},
		// Only the ECMAScript look-ahead in the schema stops a misspelled SAM
		// type from passing as an arbitrary CloudFormation resource.
		{"misspelled SAM resource type", func(doc map[string]any) {
			fn, _ := Lookup(doc, "Resources", "IngestFunction")
			fn.(map[string]any)["Type"] = "AWS::Serverless::Functon"
		}},
		{"resource without a Type", func(doc map[string]any) {
			q, _ := Lookup(doc, "Resources", "TrafficQueue")
			delete(q.(map[string]any), "Type")
		}},
	}
	schema := samSchema(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			broken := loadTemplate(t).Clone()
			tc.mutate(broken.Document())
			err := schema.Validate(broken)
			var validationErr *jsonschema.ValidationError
			if !errors.As(err, &validationErr) {
				t.Fatalf("Validate error = %v, want a *jsonschema.ValidationError", err)
			}
		})
	}
}

// TestWiring pins the connections between resources that the code relies on
// and that the schema cannot see.
func TestWiring(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	ingest := mustResource(t, tpl, "IngestFunction")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{
			"TrafficQueue redrives to DeadLetterQueue after MaxReceiveCount deliveries",
			mustLookup(t, mustResource(t, tpl, "TrafficQueue").Properties, "RedrivePolicy"),
			map[string]any{"deadLetterTargetArn": getAtt("DeadLetterQueue", "Arn"), "maxReceiveCount": ref("MaxReceiveCount")},
		},
		{
			"TrafficQueue accepts the largest message ingest writes",
			mustLookup(t, mustResource(t, tpl, "TrafficQueue").Properties, "MaximumMessageSize"),
			ref("MaxMessageBytes"),
		},
		{
			"IngestFunction's OnFailure destination is IngestFailureQueue",
			mustLookup(t, ingest.Properties, "EventInvokeConfig", "DestinationConfig", "OnFailure"),
			map[string]any{"Type": "SQS", "Destination": getAtt("IngestFailureQueue", "Arn")},
		},
		{
			"IngestFunction is retried twice before its OnFailure destination",
			mustLookup(t, ingest.Properties, "EventInvokeConfig", "MaximumRetryAttempts"),
			2,
		},
		{
			"IngestFunction is built by the Makefile",
			ingest.Metadata["BuildMethod"],
			"makefile",
		},
		{
			"the stack owns the access-log group only when none is given",
			mustResource(t, tpl, "ApiGatewayLogGroup").Condition,
			"CreateApiGatewayLogGroup",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestIngestFunctionEnvironment(t *testing.T) {
	t.Parallel()
	env, err := loadTemplate(t).EnvVars("IngestFunction")
	if err != nil {
		t.Fatal(err)
	}
	// The exact set: a variable added here without the config code reading
	// it, or the other way round, should be a deliberate change.
	want := map[string]any{
		"X_WALLARM_APPLICATION_ID": ref("ApplicationId"),
		"GWTAP_QUEUE_URL":          ref("TrafficQueue"),
		"GWTAP_MAX_MESSAGE_BYTES":  ref("MaxMessageBytes"),
		"GWTAP_METRICS_NAMESPACE":  "gwtap",
		"GWTAP_REDACT_SOURCE_IP":   ref("RedactSourceIp"),
		"GWTAP_REDACT_USER_AGENT":  ref("RedactUserAgent"),
		"GWTAP_REDACT_KEY":         ref("RedactKey"),
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("IngestFunction environment = %#v, want %#v", env, want)
	}
}

// pseudo stands in for the values CloudFormation supplies at deployment.
var pseudo = map[string]string{
	"AWS::Partition": "aws",
	"AWS::Region":    "eu-west-1",
	"AWS::AccountId": "123456789012",
	"AWS::StackName": "gwtap",
}

func withPseudo(values map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range pseudo {
		out[k] = v
	}
	for k, v := range values {
		out[k] = v
	}
	return out
}

// TestAccessLogGroup checks, for both values of ApiGatewayLogGroupName, which
// log group exists, which one IngestFunction subscribes, and which ARN the
// stack tells the user to paste into API Gateway.
func TestAccessLogGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		groupName string
		// wantCreated says whether the stack creates ApiGatewayLogGroup.
		wantCreated bool
		wantGroup   string
	}{
		{"created by the stack", "", true, "/aws/apigateway/gwtap-access"},
		{"existing group", "API-Gateway-Execution-Logs_abc123/prod", false, "API-Gateway-Execution-Logs_abc123/prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := loadTemplate(t)
			values := withPseudo(map[string]string{"ApiGatewayLogGroupName": tc.groupName})

			group := mustResource(t, tpl, "ApiGatewayLogGroup")
			created, err := tpl.EvalCondition(group.Condition, values)
			if err != nil {
				t.Fatal(err)
			}
			if created != tc.wantCreated {
				t.Fatalf("ApiGatewayLogGroup created = %v, want %v", created, tc.wantCreated)
			}
			if created {
				// Ref of a log group is its name: feed it to what refers to it.
				name, err := tpl.Resolve(group.Properties["LogGroupName"], values)
				if err != nil {
					t.Fatal(err)
				}
				values["ApiGatewayLogGroup"] = fmt.Sprint(name)
			}

			events, err := tpl.Events("IngestFunction")
			if err != nil {
				t.Fatal(err)
			}
			var subscribed []any
			for _, e := range events {
				if e.Type != "CloudWatchLogs" {
					continue
				}
				name, err := tpl.Resolve(e.Properties["LogGroupName"], values)
				if err != nil {
					t.Fatal(err)
				}
				subscribed = append(subscribed, name)
			}
			if want := []any{tc.wantGroup}; !reflect.DeepEqual(subscribed, want) {
				t.Errorf("IngestFunction subscribes %v, want %v", subscribed, want)
			}

			output, ok := tpl.Output("ApiGatewayLogGroupArn")
			if !ok {
				t.Fatal("no output ApiGatewayLogGroupArn")
			}
			arn, err := tpl.Resolve(output["Value"], values)
			if err != nil {
				t.Fatal(err)
			}
			// API Gateway wants the bare log-group ARN, without the ":*"
			// that GetAtt on a log group would add.
			wantARN := "arn:aws:logs:eu-west-1:123456789012:log-group:" + tc.wantGroup
			if arn != wantARN {
				t.Errorf("ApiGatewayLogGroupArn = %#v, want %q", arn, wantARN)
			}
		})
	}
}

func TestDeadLetterQueueAcceptsOnlyTrafficQueue(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	values := withPseudo(nil)
	name, err := tpl.Resolve(mustLookup(t, mustResource(t, tpl, "TrafficQueue").Properties, "QueueName"), values)
	if err != nil {
		t.Fatal(err)
	}
	policy, err := tpl.Resolve(mustLookup(t, mustResource(t, tpl, "DeadLetterQueue").Properties, "RedriveAllowPolicy"), values)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"redrivePermission": "byQueue",
		"sourceQueueArns":   []any{fmt.Sprintf("arn:aws:sqs:eu-west-1:123456789012:%s", name)},
	}
	if !reflect.DeepEqual(policy, want) {
		t.Errorf("DeadLetterQueue RedriveAllowPolicy = %#v, want %#v", policy, want)
	}
}

func TestQueues(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	queues := tpl.ResourcesOfType("AWS::SQS::Queue")
	if len(queues) < 3 {
		t.Fatalf("found %d queues, want at least TrafficQueue, DeadLetterQueue, IngestFailureQueue", len(queues))
	}
	for _, q := range queues {
		t.Run(q.LogicalID, func(t *testing.T) {
			t.Parallel()
			if q.Properties["SqsManagedSseEnabled"] != true {
				t.Errorf("SqsManagedSseEnabled = %#v, want true: messages carry client IPs", q.Properties["SqsManagedSseEnabled"])
			}
		})
	}

	// A standard queue keeps the original enqueue time when SQS moves a
	// message to its DLQ, so a DLQ that expires sooner loses messages.
	traffic := mustResource(t, tpl, "TrafficQueue").Properties["MessageRetentionPeriod"]
	dlq := mustResource(t, tpl, "DeadLetterQueue").Properties["MessageRetentionPeriod"]
	if tr, ok1 := traffic.(int); !ok1 {
		t.Errorf("TrafficQueue MessageRetentionPeriod = %#v, want a number", traffic)
	} else if d, ok2 := dlq.(int); !ok2 || d <= tr {
		t.Errorf("DeadLetterQueue MessageRetentionPeriod = %#v, want more than TrafficQueue's %d", dlq, tr)
	}
}

// sqsPolicyTemplates names the SAM policy templates that grant SQS access.
var sqsPolicyTemplates = []string{"SQSSendMessagePolicy", "SQSPollerPolicy"}

func TestIngestFunctionPermissions(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	policies, err := tpl.Policies("IngestFunction")
	if err != nil {
		t.Fatal(err)
	}
	var sqs []any
	for _, p := range policies {
		m, _ := p.(map[string]any)
		for _, name := range sqsPolicyTemplates {
			if params, ok := m[name]; ok {
				sqs = append(sqs, map[string]any{name: params})
			}
		}
	}
	for _, st := range tpl.IAMStatements() {
		if !strings.HasPrefix(st.Where, "IngestFunction.") {
			continue
		}
		for _, a := range st.Actions {
			if s, _ := a.(string); strings.HasPrefix(s, "sqs:") {
				sqs = append(sqs, st.Raw)
				break
			}
		}
	}
	// The OnFailure destination's sqs:SendMessage is added by SAM from
	// EventInvokeConfig, so the only SQS policy written here is TrafficQueue's.
	want := []any{map[string]any{"SQSSendMessagePolicy": map[string]any{"QueueName": getAtt("TrafficQueue", "QueueName")}}}
	if !reflect.DeepEqual(sqs, want) {
		t.Errorf("IngestFunction SQS policies = %#v, want %#v", sqs, want)
	}
}

func TestFunctionsFollowTheBuildConvention(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	functions := tpl.ResourcesOfType(FunctionType)
	if len(functions) == 0 {
		t.Fatal("template has no functions")
	}
	for _, fn := range functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			t.Parallel()
			props, err := tpl.FunctionProperties(fn.LogicalID)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]any{
				"Runtime": "provided.al2023",
				"Handler": "bootstrap",
				"CodeUri": ".",
			} {
				if props[key] != want {
					t.Errorf("%s = %#v, want %q", key, props[key], want)
				}
			}
			if got := fn.Metadata["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %#v, want makefile: sam build runs build-%s", got, fn.LogicalID)
			}
			if got, want := props["Architectures"], []any{ref("Architecture")}; !reflect.DeepEqual(got, want) {
				t.Errorf("Architectures = %#v, want %#v so one parameter picks what the Makefile builds", got, want)
			}
		})
	}
}

// TestMakefileBuildsEveryFunction checks that `sam build` finds a target for
// each function: with BuildMethod makefile it runs build-<LogicalId> in the
// Makefile at CodeUri, the repository root.
func TestMakefileBuildsEveryFunction(t *testing.T) {
	t.Parallel()
	makefile, err := os.ReadFile(filepath.Join(moduleRoot, "Makefile"))
	if err != nil {
		t.Fatalf("reading the top-level Makefile that sam build uses: %v", err)
	}
	for _, fn := range loadTemplate(t).ResourcesOfType(FunctionType) {
		target := regexp.MustCompile(`(?m)^build-` + regexp.QuoteMeta(fn.LogicalID) + `:`)
		if !target.Match(makefile) {
			t.Errorf("Makefile has no build-%s target", fn.LogicalID)
		}
	}
}

// TestNoWildcardPermissions keeps permissions least-privilege: every written
// IAM statement names its actions and resources, and no function attaches a
// managed policy, whose contents the template cannot show.
func TestNoWildcardPermissions(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	for _, st := range tpl.IAMStatements() {
		if len(st.NotActions) > 0 {
			t.Errorf("%s uses NotAction; list the allowed actions instead", st.Where)
		}
		if len(st.Actions) == 0 {
			t.Errorf("%s lists no actions", st.Where)
		}
		for _, a := range st.Actions {
			if s, ok := a.(string); !ok || strings.Contains(s, "*") {
				t.Errorf("%s: action %#v is not an explicit action", st.Where, a)
			}
		}
		if slices.Contains(st.Resources, any("*")) {
			t.Errorf("%s applies to every resource", st.Where)
		}
	}
	for _, fn := range tpl.ResourcesOfType(FunctionType) {
		policies, err := tpl.Policies(fn.LogicalID)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range policies {
			if _, isName := p.(string); isName {
				t.Errorf("%s.Policies[%d] attaches managed policy %v", fn.LogicalID, i, p)
			}
		}
	}
}

func TestAlarmsNotifyOnlyWhenATopicIsGiven(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	alarms := tpl.ResourcesOfType("AWS::CloudWatch::Alarm")
	watched := map[string]bool{}
	for _, a := range alarms {
		metric, _ := a.Properties["MetricName"].(string)
		dims, _ := a.Properties["Dimensions"].([]any)
		for _, d := range dims {
			v, _ := Lookup(d, "Value")
			watched[fmt.Sprintf("%s %v", metric, v)] = true
		}
	}
	for _, want := range []string{
		fmt.Sprintf("Errors %v", ref("IngestFunction")),
		fmt.Sprintf("Throttles %v", ref("IngestFunction")),
		fmt.Sprintf("ApproximateNumberOfMessagesVisible %v", getAtt("IngestFailureQueue", "QueueName")),
		fmt.Sprintf("ApproximateNumberOfMessagesVisible %v", getAtt("DeadLetterQueue", "QueueName")),
	} {
		if !watched[want] {
			t.Errorf("no alarm on %s", want)
		}
	}

	tests := []struct {
		name  string
		topic string
		want  []any
	}{
		{"without a topic", "", nil},
		{"with a topic", "arn:aws:sns:eu-west-1:123456789012:ops", []any{"arn:aws:sns:eu-west-1:123456789012:ops"}},
	}
	for _, tc := range tests {
		for _, a := range alarms {
			t.Run(tc.name+"/"+a.LogicalID, func(t *testing.T) {
				t.Parallel()
				props, err := tpl.Resolve(a.Properties, map[string]string{"AlarmTopicArn": tc.topic})
				if err != nil {
					t.Fatal(err)
				}
				for _, key := range []string{"AlarmActions", "OKActions"} {
					got, _ := Lookup(props, key)
					if tc.want == nil && got != nil || tc.want != nil && !reflect.DeepEqual(got, tc.want) {
						t.Errorf("%s = %#v, want %#v", key, got, tc.want)
					}
				}
			})
		}
	}
}

func TestParameters(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		parameter string
		key       string
		want      any
	}{
		// The seed's default application.
		{"ApplicationId", "Default", "-1"},
		{"NodeScheme", "AllowedValues", []any{"http", "https"}},
		{"NodeScheme", "Default", "https"},
		{"Architecture", "AllowedValues", []any{"arm64", "x86_64"}},
		{"Architecture", "Default", "arm64"},
		{"ApiGatewayLogGroupName", "Default", ""},
		// The SQS MaximumMessageSize range, so the parameter cannot ask for a
		// queue SQS refuses to create.
		{"MaxMessageBytes", "Default", 262144},
		{"MaxMessageBytes", "MinValue", 1024},
		{"MaxMessageBytes", "MaxValue", 1048576},
		{"MaxReceiveCount", "Default", 5},
		{"SubscriptionFilterPattern", "Default", ""},
		{"AlarmTopicArn", "Default", ""},
	}
	for _, tc := range tests {
		t.Run(tc.parameter+"."+tc.key, func(t *testing.T) {
			t.Parallel()
			p, ok := tpl.Parameter(tc.parameter)
			if !ok {
				t.Fatalf("no parameter %s", tc.parameter)
			}
			if !reflect.DeepEqual(p[tc.key], tc.want) {
				t.Errorf("%s.%s = %#v, want %#v", tc.parameter, tc.key, p[tc.key], tc.want)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		output string
		want   any
	}{
		{"TrafficQueueUrl", ref("TrafficQueue")},
		{"DeadLetterQueueUrl", ref("DeadLetterQueue")},
		{"IngestFailureQueueUrl", ref("IngestFailureQueue")},
		{"IngestFunctionArn", getAtt("IngestFunction", "Arn")},
	}
	for _, tc := range tests {
		t.Run(tc.output, func(t *testing.T) {
			t.Parallel()
			o, ok := tpl.Output(tc.output)
			if !ok {
				t.Fatalf("no output %s", tc.output)
			}
			if !reflect.DeepEqual(o["Value"], tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.output, o["Value"], tc.want)
			}
		})
	}
}

// TestParameterPatterns checks the AllowedPattern constraints accept what the
// seed documents and refuse the usual mistakes. CloudFormation matches them
// with Java regular expressions; these patterns mean the same in RE2.
func TestParameterPatterns(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		parameter string
		value     string
		want      bool
	}{
		{"ApplicationId", "-1", true},
		{"ApplicationId", "42", true},
		{"ApplicationId", "", false},
		{"ApplicationId", "app-1", false},
		{"NodeURL", "node.example.com", true},
		{"NodeURL", "192.0.2.1:5050", true},
		{"NodeURL", "[2001:db8::1]:8443", true},
		{"NodeURL", "https://node.example.com", false},
		{"NodeURL", "node.example.com/v1", false},
		{"NodeURL", "", false},
		{"ApiGatewayLogGroupName", "", true},
		{"ApiGatewayLogGroupName", "API-Gateway-Access-Logs_abc123/prod", true},
		{"ApiGatewayLogGroupName", "arn:aws:logs:eu-west-1:123456789012:log-group:x", false},
		{"AlarmTopicArn", "", true},
		{"AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:ops-alerts", true},
		{"AlarmTopicArn", "ops-alerts", false},
	}
	for _, tc := range tests {
		t.Run(tc.parameter+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			p, ok := tpl.Parameter(tc.parameter)
			if !ok {
				t.Fatalf("no parameter %s", tc.parameter)
			}
			pattern, _ := p["AllowedPattern"].(string)
			re, err := regexp.Compile(pattern)
			if err != nil {
				t.Fatalf("%s AllowedPattern %q: %v", tc.parameter, pattern, err)
			}
			if got := re.MatchString(tc.value); got != tc.want {
				t.Errorf("%s AllowedPattern %q matches %q = %v, want %v", tc.parameter, pattern, tc.value, got, tc.want)
			}
			if def, ok := p["Default"].(string); ok && !re.MatchString(def) {
				t.Errorf("%s Default %q does not match its own AllowedPattern", tc.parameter, def)
			}
		})
	}
}

// TestForwardFunctionEnvironment pins ForwardFunction's variables to the
// names its configuration code reads, so neither side can be renamed alone.
func TestForwardFunctionEnvironment(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	env, err := tpl.EnvVars("ForwardFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		collector.EnvNodeURL:        ref("NodeURL"),
		collector.EnvNodeScheme:     ref("NodeScheme"),
		collector.EnvAppID:          ref("ApplicationId"),
		collector.EnvTokenSecretARN: ref("NodeTokenSecretArn"),
		collector.EnvTokenParameter: ref("NodeTokenParameterName"),
		forward.EnvDLQURL:           ref("DeadLetterQueue"),
		forward.EnvNamespace:        "gwtap",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("ForwardFunction environment = %#v, want %#v", env, want)
	}
	// The defaults leave the token stores unset, which the function reads
	// as "no token", so a stack without one starts.
	values := withPseudo(map[string]string{"NodeURL": "node.example.com", "DeadLetterQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-dlq"})
	cfg, err := forward.LoadConfig(func(name string) string {
		v, _ := tpl.Resolve(env[name], values)
		s, _ := v.(string)
		return s
	})
	if err != nil {
		t.Fatalf("the template's defaults do not make a valid forward configuration: %v", err)
	}
	if cfg.Node.TokenSecretARN != "" || cfg.Node.TokenParameter != "" || cfg.Node.BaseURL() != "https://node.example.com" {
		t.Errorf("configuration from the template's defaults: %+v", cfg)
	}
}

func TestForwardFunctionEventSource(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	events, err := tpl.Events("ForwardFunction")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("ForwardFunction has %d event sources, want one on TrafficQueue", len(events))
	}
	for _, e := range events {
		want := map[string]any{
			"Queue":                          getAtt("TrafficQueue", "Arn"),
			"BatchSize":                      ref("ForwardBatchSize"),
			"MaximumBatchingWindowInSeconds": ref("ForwardBatchingWindow"),
			// Without it Lambda ignores the handler's BatchItemFailures and
			// redelivers every message of a batch with one failure.
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
			"ScalingConfig":         map[string]any{"MaximumConcurrency": ref("ForwardMaxConcurrency")},
		}
		if e.Type != "SQS" || !reflect.DeepEqual(e.Properties, want) {
			t.Errorf("event %s = %s %#v, want SQS %#v", e.Name, e.Type, e.Properties, want)
		}
	}
	// The mapping refuses a MaximumConcurrency below 2, and more than ten
	// messages need a batching window.
	for name, want := range map[string]map[string]any{
		"ForwardMaxConcurrency": {"MinValue": 2},
		"ForwardBatchSize":      {"MinValue": 1, "MaxValue": 10},
		"ForwardBatchingWindow": {"MinValue": 0, "MaxValue": 300},
	} {
		p, ok := tpl.Parameter(name)
		if !ok {
			t.Errorf("no parameter %s", name)
			continue
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s.%s = %#v, want %#v", name, k, p[k], v)
			}
		}
	}
}

// TestTrafficQueueOutlastsForward: CloudFormation cannot multiply, so the
// function timeout and the visibility timeout are both fixed numbers, and
// this keeps Lambda's guidance of at least six times between them; a
// shorter visibility would redeliver messages still being forwarded.
func TestTrafficQueueOutlastsForward(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	props, err := tpl.FunctionProperties("ForwardFunction")
	if err != nil {
		t.Fatal(err)
	}
	timeout, ok := props["Timeout"].(int)
	if !ok || timeout <= 0 {
		t.Fatalf("ForwardFunction Timeout = %#v, want a fixed number of seconds", props["Timeout"])
	}
	visibility, ok := mustResource(t, tpl, "TrafficQueue").Properties["VisibilityTimeout"].(int)
	if !ok {
		t.Fatalf("TrafficQueue VisibilityTimeout is not a fixed number")
	}
	if visibility < 6*timeout {
		t.Errorf("TrafficQueue VisibilityTimeout %d < 6 × ForwardFunction Timeout %d", visibility, timeout)
	}
}

// TestForwardFunctionPermissions: polling TrafficQueue, sending to the DLQ,
// and reading a token store only when one is configured, nothing more.
func TestForwardFunctionPermissions(t *testing.T) {
	t.Parallel()
	const (
		secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gwtap-node-AbCdEf"
		paramName = "/gwtap/node-token"
	)
	tests := []struct {
		name       string
		values     map[string]string
		wantAccess []any // statements beyond the two SQS policy templates
	}{
		{"no token store", nil, nil},
		{"secret", map[string]string{"NodeTokenSecretArn": secretARN}, []any{
			map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secretARN}}},
		}},
		{"parameter", map[string]string{"NodeTokenParameterName": paramName}, []any{
			map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "ssm:GetParameter",
				"Resource": "arn:aws:ssm:eu-west-1:123456789012:parameter/gwtap/node-token"}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl := loadTemplate(t)
			policies, err := tpl.Policies("ForwardFunction")
			if err != nil {
				t.Fatal(err)
			}
			resolved, err := tpl.Resolve(policies, withPseudo(tc.values))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]any{
				map[string]any{"SQSPollerPolicy": map[string]any{"QueueName": getAtt("TrafficQueue", "QueueName")}},
				map[string]any{"SQSSendMessagePolicy": map[string]any{"QueueName": getAtt("DeadLetterQueue", "QueueName")}},
			}, tc.wantAccess...)
			if !reflect.DeepEqual(resolved, want) {
				t.Errorf("ForwardFunction policies = %#v, want %#v", resolved, want)
			}
		})
	}
}

func TestForwardAlarms(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	watched := map[string]bool{}
	for _, a := range tpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		dim, _ := Lookup(a.Properties, "Dimensions", 0, "Value")
		watched[fmt.Sprintf("%v %v %v", a.Properties["Namespace"], a.Properties["MetricName"], dim)] = true
	}
	for _, want := range []string{
		fmt.Sprintf("AWS/Lambda Errors %v", ref("ForwardFunction")),
		// EMF names the dimension FunctionName after AWS_LAMBDA_FUNCTION_NAME,
		// which is what Ref of the function returns.
		fmt.Sprintf("gwtap MessagesDeadLettered %v", ref("ForwardFunction")),
		fmt.Sprintf("AWS/SQS ApproximateNumberOfMessagesVisible %v", getAtt("DeadLetterQueue", "QueueName")),
	} {
		if !watched[want] {
			t.Errorf("no alarm on %s", want)
		}
	}
	if _, ok := tpl.Output("ForwardFunctionArn"); !ok {
		t.Error("no ForwardFunctionArn output")
	}
}

func TestTokenParameterPatterns(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		parameter, value string
		want             bool
	}{
		{"NodeTokenSecretArn", "", true},
		{"NodeTokenSecretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gwtap/node-AbCdEf", true},
		{"NodeTokenSecretArn", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:node-AbCdEf", true},
		{"NodeTokenSecretArn", "gwtap/node", false},
		{"NodeTokenSecretArn", "arn:aws:ssm:eu-west-1:123456789012:parameter/x", false},
		{"NodeTokenParameterName", "", true},
		{"NodeTokenParameterName", "/gwtap/node-token", true},
		{"NodeTokenParameterName", "/gwtap/node_token.v2", true},
		{"NodeTokenParameterName", "gwtap-node-token", false},
		{"NodeTokenParameterName", "/gwtap/node token", false},
	}
	for _, tc := range tests {
		p, ok := tpl.Parameter(tc.parameter)
		if !ok {
			t.Fatalf("no parameter %s", tc.parameter)
		}
		pattern, _ := p["AllowedPattern"].(string)
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("%s AllowedPattern %q: %v", tc.parameter, pattern, err)
		}
		if got := re.MatchString(tc.value); got != tc.want {
			t.Errorf("%s AllowedPattern %q matches %q = %v, want %v", tc.parameter, pattern, tc.value, got, tc.want)
		}
	}
}

// TestReplayFunctionEnvironment pins ReplayFunction's variables to the names
// its configuration code reads, and checks the template's defaults make a
// configuration the function accepts.
func TestReplayFunctionEnvironment(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	env, err := tpl.EnvVars("ReplayFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		collector.EnvNodeURL:       ref("NodeURL"),
		collector.EnvNodeScheme:    ref("NodeScheme"),
		collector.EnvAppID:         ref("ApplicationId"),
		replay.EnvDLQURL:           ref("DeadLetterQueue"),
		replay.EnvTrafficQueueURL:  ref("TrafficQueue"),
		replay.EnvIngestFailureURL: ref("IngestFailureQueue"),
		ingest.EnvMaxMessageBytes:  ref("MaxMessageBytes"),
		replay.EnvMaxReplays:       ref("ReplayMaxReplays"),
		replay.EnvMaxAge:           ref("ReplayMaxAge"),
		replay.EnvRate:             ref("ReplayRate"),
		replay.EnvNamespace:        "gwtap",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("ReplayFunction environment = %#v, want %#v", env, want)
	}
	values := withPseudo(map[string]string{
		"NodeURL":            "node.example.com",
		"DeadLetterQueue":    "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-dlq",
		"TrafficQueue":       "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-traffic",
		"IngestFailureQueue": "https://sqs.eu-west-1.amazonaws.com/123456789012/gwtap-ingest-failures",
	})
	cfg, err := replay.LoadConfig(func(name string) string {
		v, _ := tpl.Resolve(env[name], values)
		switch v := v.(type) {
		case string:
			return v
		case int:
			return strconv.Itoa(v)
		}
		return ""
	})
	if err != nil {
		t.Fatalf("the template's defaults do not make a valid replay configuration: %v", err)
	}
	if cfg.Limits.MaxReplays != 3 || cfg.Limits.Rate != 10 || cfg.Limits.MaxAge != 0 || cfg.Queues.IngestFailure == "" || cfg.Ingest.MaxMessageBytes != 262144 {
		t.Errorf("configuration from the template's defaults: %+v", cfg)
	}
}

// TestReplayFunctionPermissions lists every action granted to the replay
// function, on which resource: SQS calls on the three queues and nothing
// else (its Function URL is reached with the caller's IAM permission, not
// the function's).
func TestReplayFunctionPermissions(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	policies, err := tpl.Policies("ReplayFunction")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range policies {
		if m, ok := p.(map[string]any); !ok || m["Statement"] == nil {
			t.Errorf("ReplayFunction.Policies[%d] = %#v: only inline statements, so every grant is listed here", i, p)
		}
	}
	var got []string
	for _, st := range tpl.IAMStatements() {
		if !strings.HasPrefix(st.Where, "ReplayFunction.") {
			continue
		}
		if st.Raw["Effect"] != "Allow" || len(st.Resources) != 1 {
			t.Errorf("%s: %#v", st.Where, st.Raw)
		}
		for _, a := range st.Actions {
			got = append(got, fmt.Sprintf("%v on %v", a, st.Resources[0]))
		}
	}
	slices.Sort(got)
	on := func(action, queue string) string { return fmt.Sprintf("%s on %v", action, getAtt(queue, "Arn")) }
	want := []string{
		on("sqs:ChangeMessageVisibility", "DeadLetterQueue"),
		on("sqs:ChangeMessageVisibility", "IngestFailureQueue"),
		on("sqs:DeleteMessage", "DeadLetterQueue"),
		on("sqs:DeleteMessage", "IngestFailureQueue"),
		on("sqs:GetQueueAttributes", "DeadLetterQueue"),
		on("sqs:GetQueueAttributes", "IngestFailureQueue"),
		on("sqs:GetQueueAttributes", "TrafficQueue"),
		on("sqs:ReceiveMessage", "DeadLetterQueue"),
		on("sqs:ReceiveMessage", "IngestFailureQueue"),
		on("sqs:SendMessage", "TrafficQueue"),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ReplayFunction may:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestReplayFunctionURLAndBuild(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	props, err := tpl.FunctionProperties("ReplayFunction")
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLookup(t, props, "FunctionUrlConfig"); !reflect.DeepEqual(got, map[string]any{"AuthType": "AWS_IAM"}) {
		t.Errorf("FunctionUrlConfig = %#v, want AuthType AWS_IAM only", got)
	}
	o, ok := tpl.Output("ReplayFunctionUrl")
	if !ok || !reflect.DeepEqual(o["Value"], getAtt("ReplayFunctionUrl", "FunctionUrl")) {
		t.Errorf("ReplayFunctionUrl output = %#v", o)
	}
	// A page may take its whole budget (60 s by default) plus SQS calls.
	if timeout, ok := props["Timeout"].(int); !ok || timeout < 120 || timeout > 900 {
		t.Errorf("ReplayFunction Timeout = %#v, want 120..900 seconds", props["Timeout"])
	}
}

// aslDefinition reads the state machine definition the template deploys.
func aslDefinition(t *testing.T, tpl *Template) (string, map[string]any) {
	t.Helper()
	sm := mustResource(t, tpl, "ReplayStateMachine")
	uri, _ := sm.Properties["DefinitionUri"].(string)
	raw, err := os.ReadFile(filepath.Join(moduleRoot, uri))
	if err != nil {
		t.Fatalf("DefinitionUri %q: %v", uri, err)
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatalf("%s is not JSON: %v", uri, err)
	}
	return string(raw), def
}

func TestReplayStateMachineWiring(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	sm := mustResource(t, tpl, "ReplayStateMachine")
	if sm.Type != "AWS::Serverless::StateMachine" || sm.Properties["Type"] != "STANDARD" {
		t.Errorf("ReplayStateMachine is %s %v", sm.Type, sm.Properties["Type"])
	}
	subs, _ := sm.Properties["DefinitionSubstitutions"].(map[string]any)
	if want := map[string]any{"ReplayFunctionArn": getAtt("ReplayFunction", "Arn")}; !reflect.DeepEqual(subs, want) {
		t.Errorf("DefinitionSubstitutions = %#v, want %#v", subs, want)
	}
	raw, def := aslDefinition(t, tpl)
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(raw, -1) {
		if _, ok := subs[m[1]]; !ok {
			t.Errorf("the definition uses ${%s}, which DefinitionSubstitutions does not give", m[1])
		}
	}
	// The state machine's only permission: invoking ReplayFunction.
	want := []any{map[string]any{"Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": getAtt("ReplayFunction", "Arn"),
	}}}}
	if got := sm.Properties["Policies"]; !reflect.DeepEqual(got, want) {
		t.Errorf("ReplayStateMachine Policies = %#v, want %#v", got, want)
	}
	// No Task may outlive the function it calls.
	props, err := tpl.FunctionProperties("ReplayFunction")
	if err != nil {
		t.Fatal(err)
	}
	fnTimeout, _ := props["Timeout"].(int)
	states, _ := def["States"].(map[string]any)
	for name, s := range states {
		st, _ := s.(map[string]any)
		if st["Type"] != "Task" {
			continue
		}
		if ts, ok := st["TimeoutSeconds"].(float64); !ok || int(ts) > fnTimeout {
			t.Errorf("Task %s TimeoutSeconds %v exceeds ReplayFunction's %d", name, st["TimeoutSeconds"], fnTimeout)
		}
	}
	page, _ := Lookup(def, "States", "Defaults", "Parameters", "defaults", "pageBudgetSeconds")
	if p, ok := page.(float64); !ok || int(p)+30 > fnTimeout {
		t.Errorf("default pageBudgetSeconds %v leaves no margin within ReplayFunction's Timeout %d", page, fnTimeout)
	}
}

// TestReplayTriggers checks both EventBridge rules start the state machine
// through the trigger role, and that each parameter switches its rule.
func TestReplayTriggers(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	target := func(rule string) map[string]any {
		t.Helper()
		targets, _ := mustResource(t, tpl, rule).Properties["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s has %d targets, want the state machine", rule, len(targets))
		}
		tg, _ := targets[0].(map[string]any)
		return tg
	}
	for rule, trigger := range map[string]string{"ReplayScheduleRule": "schedule", "ReplayOnDeadLetterAlarmRule": "alarm"} {
		tg := target(rule)
		if !reflect.DeepEqual(tg["Arn"], ref("ReplayStateMachine")) || !reflect.DeepEqual(tg["RoleArn"], getAtt("ReplayTriggerRole", "Arn")) {
			t.Errorf("%s targets %v with %v", rule, tg["Arn"], tg["RoleArn"])
		}
		var input map[string]any
		if s, _ := tg["Input"].(string); json.Unmarshal([]byte(s), &input) != nil || input["trigger"] != trigger {
			t.Errorf("%s Input = %#v, want JSON with trigger %q", rule, tg["Input"], trigger)
		}
	}
	schedule := mustResource(t, tpl, "ReplayScheduleRule").Properties
	if !reflect.DeepEqual(schedule["ScheduleExpression"], ref("ReplayScheduleExpression")) {
		t.Errorf("ScheduleExpression = %#v", schedule["ScheduleExpression"])
	}
	pattern := mustResource(t, tpl, "ReplayOnDeadLetterAlarmRule").Properties["EventPattern"]
	wantPattern := map[string]any{
		"source":      []any{"aws.cloudwatch"},
		"detail-type": []any{"CloudWatch Alarm State Change"},
		"resources":   []any{getAtt("DeadLetterQueueAlarm", "Arn")},
		"detail":      map[string]any{"state": map[string]any{"value": []any{"ALARM"}}},
	}
	if !reflect.DeepEqual(pattern, wantPattern) {
		t.Errorf("alarm rule EventPattern = %#v, want %#v", pattern, wantPattern)
	}

	tests := []struct {
		rule, parameter, value, want string
	}{
		{"ReplayScheduleRule", "ReplayOnSchedule", "true", "ENABLED"},
		{"ReplayScheduleRule", "ReplayOnSchedule", "false", "DISABLED"},
		{"ReplayOnDeadLetterAlarmRule", "ReplayOnAlarm", "true", "ENABLED"},
		{"ReplayOnDeadLetterAlarmRule", "ReplayOnAlarm", "false", "DISABLED"},
	}
	for _, tc := range tests {
		t.Run(tc.rule+"/"+tc.value, func(t *testing.T) {
			t.Parallel()
			state, err := tpl.Resolve(mustResource(t, tpl, tc.rule).Properties["State"], map[string]string{tc.parameter: tc.value})
			if err != nil || state != tc.want {
				t.Errorf("%s=%s: State = %#v, %v; want %s", tc.parameter, tc.value, state, err, tc.want)
			}
		})
	}

	// The trigger role: assumed by EventBridge, and may only start this
	// state machine.
	role := mustResource(t, tpl, "ReplayTriggerRole").Properties
	principal, _ := Lookup(role, "AssumeRolePolicyDocument", "Statement", 0, "Principal", "Service")
	if principal != "events.amazonaws.com" {
		t.Errorf("ReplayTriggerRole is assumed by %#v", principal)
	}
	var grants []string
	for _, st := range tpl.IAMStatements() {
		if strings.HasPrefix(st.Where, "ReplayTriggerRole.") {
			grants = append(grants, fmt.Sprintf("%v on %v", st.Actions, st.Resources))
		}
	}
	if want := []string{fmt.Sprintf("%v on %v", []any{"states:StartExecution"}, []any{ref("ReplayStateMachine")})}; !slices.Equal(grants, want) {
		t.Errorf("ReplayTriggerRole may %v, want %v", grants, want)
	}
}

func TestReplayAlarms(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		alarm, namespace, metric string
		dimension                any
	}{
		{"ReplayParkedAlarm", "gwtap", "MessagesParked", ref("ReplayFunction")},
		{"ReplayExecutionsFailedAlarm", "AWS/States", "ExecutionsFailed", ref("ReplayStateMachine")},
	}
	for _, tc := range tests {
		t.Run(tc.alarm, func(t *testing.T) {
			t.Parallel()
			p := mustResource(t, tpl, tc.alarm).Properties
			dim, _ := Lookup(p, "Dimensions", 0, "Value")
			if p["Namespace"] != tc.namespace || p["MetricName"] != tc.metric || !reflect.DeepEqual(dim, tc.dimension) {
				t.Errorf("%s watches %v %v %v", tc.alarm, p["Namespace"], p["MetricName"], dim)
			}
			// Any parked message, or any failed run, alarms.
			if p["Threshold"] != 0 || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Statistic"] != "Sum" {
				t.Errorf("%s fires on %v %v %v", tc.alarm, p["Statistic"], p["ComparisonOperator"], p["Threshold"])
			}
		})
	}
}

func TestReplayParameterPatterns(t *testing.T) {
	t.Parallel()
	tpl := loadTemplate(t)
	tests := []struct {
		parameter, value string
		want             bool
	}{
		{"ReplayMaxAge", "", true},
		{"ReplayMaxAge", "168h", true},
		{"ReplayMaxAge", "90m", true},
		{"ReplayMaxAge", "7d", false},
		{"ReplayMaxAge", "-1h", false},
		{"ReplayScheduleExpression", "rate(1 hour)", true},
		{"ReplayScheduleExpression", "cron(0 */6 * * ? *)", true},
		{"ReplayScheduleExpression", "hourly", false},
	}
	for _, tc := range tests {
		p, ok := tpl.Parameter(tc.parameter)
		if !ok {
			t.Fatalf("no parameter %s", tc.parameter)
		}
		pattern, _ := p["AllowedPattern"].(string)
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("%s AllowedPattern %q: %v", tc.parameter, pattern, err)
		}
		if got := re.MatchString(tc.value); got != tc.want {
			t.Errorf("%s AllowedPattern %q matches %q = %v, want %v", tc.parameter, pattern, tc.value, got, tc.want)
		}
		if def, ok := p["Default"].(string); ok && !re.MatchString(def) {
			t.Errorf("%s Default %q does not match its own AllowedPattern", tc.parameter, def)
		}
	}
	// Every value the pattern accepts is one the function parses.
	for _, v := range []string{"168h", "90m", "3600s"} {
		if _, err := replay.LoadConfig(func(k string) string {
			return map[string]string{collector.EnvNodeURL: "n.example.com", collector.EnvAppID: "-1", replay.EnvMaxAge: v,
				replay.EnvDLQURL: "https://sqs.eu-west-1.amazonaws.com/1/d", replay.EnvTrafficQueueURL: "https://sqs.eu-west-1.amazonaws.com/1/t"}[k]
		}); err != nil {
			t.Errorf("ReplayMaxAge %q passes the pattern but not the function: %v", v, err)
		}
	}
}
