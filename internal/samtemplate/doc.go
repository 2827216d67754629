// Package samtemplate loads gwtap's AWS SAM template so that tests can check
// it without AWS: against the official SAM JSON Schema, and against the wiring
// the code relies on (which queue a function writes to, which log group it
// subscribes, which permissions it holds).
//
// CloudFormation YAML uses short-form tags such as !Ref, !GetAtt and !Sub that
// no JSON Schema validator understands. [Load] and [Parse] convert each of them
// into its JSON long form ({"Ref": ...}, {"Fn::GetAtt": [...]}, ...), so the
// result is plain JSON-compatible data: map[string]any, []any, string, bool,
// int, float64 and nil. Assertions can then compare whole values, for example
// that a queue's RedrivePolicy is exactly
// {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, ...}.
//
// [Template.Resolve] evaluates the intrinsics that depend only on parameters
// and conditions, so a test can ask what a value becomes for a given set of
// parameter values, for example which log group is subscribed when
// ApiGatewayLogGroupName is empty and when it is not.
package samtemplate
