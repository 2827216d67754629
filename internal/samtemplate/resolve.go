package samtemplate

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ErrUnresolvable is returned by [Template.EvalCondition] and
// [Template.Resolve] when a condition depends on a value the caller did not
// supply, such as a pseudo parameter or a resource's runtime attribute.
var ErrUnresolvable = errors.New("value cannot be resolved without deploying")

// noValue stands for AWS::NoValue while resolving; it never escapes Resolve.
type noValue struct{}

// Resolve returns a copy of v with the intrinsics that depend only on
// parameters and conditions evaluated, as CloudFormation would for the given
// values. It lets a test ask what a value becomes in each configuration.
//
// values maps template parameters to their values (parameters left out take
// their Default), and may also give pseudo parameters (AWS::StackName,
// AWS::Region, ...) and the Ref value of resources (a queue's URL, a log
// group's name). Without a value those stay unresolved.
//
// Evaluated: Ref, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition,
// Fn::Sub, Fn::Join, Fn::Select, Fn::Split and Fn::FindInMap when their inputs
// are known. Other intrinsics (Fn::GetAtt, ...) are kept with their arguments
// resolved; Fn::Sub keeps ${Name} for what it cannot substitute. Map entries
// and list items that become AWS::NoValue are dropped, and Resolve returns nil
// when v itself does.
//
// It returns ErrUnresolvable (wrapped) when a condition needs an unknown
// value, and an error for a parameter with neither value nor default, an
// undefined condition, or a malformed intrinsic.
func (t *Template) Resolve(v any, values map[string]string) (any, error) {
	r := resolver{t: t, values: values, evaluating: map[string]bool{}}
	out, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	if _, ok := out.(noValue); ok {
		return nil, nil
	}
	return out, nil
}

// EvalCondition evaluates the named condition for the given values (see
// [Template.Resolve]). It returns ErrUnresolvable (wrapped) when the condition
// needs a value that was not given, and an error for an undefined or
// malformed condition.
func (t *Template) EvalCondition(name string, values map[string]string) (bool, error) {
	r := resolver{t: t, values: values, evaluating: map[string]bool{}}
	return r.condition(name)
}

type resolver struct {
	t      *Template
	values map[string]string
	// evaluating holds the conditions being evaluated, to report a cycle
	// instead of recursing forever.
	evaluating map[string]bool
}

func (r *resolver) resolve(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			rv, err := r.resolve(item)
			if err != nil {
				return nil, err
			}
			if _, drop := rv.(noValue); !drop {
				out = append(out, rv)
			}
		}
		return out, nil
	case map[string]any:
		if isIntrinsic(v) {
			for name, arg := range v {
				return r.intrinsic(name, arg)
			}
		}
		out := make(map[string]any, len(v))
		for k, item := range v {
			rv, err := r.resolve(item)
			if err != nil {
				return nil, err
			}
			if _, drop := rv.(noValue); !drop {
				out[k] = rv
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) intrinsic(name string, arg any) (any, error) {
	switch name {
	case "Ref":
		return r.ref(arg)
	case "Condition":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("invalid Condition: want a name, got %v", arg)
		}
		return r.condition(s)
	case "Fn::If":
		args, err := fixedArgs(name, arg, 3)
		if err != nil {
			return nil, err
		}
		cond, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("Fn::If takes a condition name first, got %v", args[0])
		}
		holds, err := r.condition(cond)
		if err != nil {
			return nil, err
		}
		if holds {
			return r.resolve(args[1])
		}
		return r.resolve(args[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.boolean(map[string]any{name: arg})
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		return r.join(arg)
	case "Fn::Select":
		return r.selectItem(arg)
	case "Fn::Split":
		return r.split(arg)
	case "Fn::FindInMap":
		return r.findInMap(arg)
	}
	resolved, err := r.resolve(arg)
	if err != nil {
		return nil, err
	}
	return map[string]any{name: resolved}, nil
}

func (r *resolver) ref(arg any) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("invalid Ref: want a name, got %v", arg)
	}
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if p, isParam := r.t.Parameter(name); isParam {
		value, given := r.values[name]
		if !given {
			def, hasDefault := p["Default"]
			if !hasDefault {
				return nil, fmt.Errorf("parameter %s has no value and no default", name)
			}
			// CloudFormation hands every parameter to Ref as a string,
			// Number parameters included.
			value = fmt.Sprint(def)
		}
		if typ, _ := p["Type"].(string); typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var out []any
			for _, item := range strings.Split(value, ",") {
				out = append(out, strings.TrimSpace(item))
			}
			return out, nil
		}
		return value, nil
	}
	if value, given := r.values[name]; given {
		return value, nil
	}
	return map[string]any{"Ref": name}, nil
}

func (r *resolver) condition(name string) (bool, error) {
	def, ok := r.t.Condition(name)
	if !ok {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	if r.evaluating[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	r.evaluating[name] = true
	defer delete(r.evaluating, name)
	holds, err := r.boolean(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return holds, nil
}

// boolean evaluates a condition function: Fn::Equals, Fn::Not, Fn::And,
// Fn::Or or a {"Condition": name} reference.
func (r *resolver) boolean(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || !isIntrinsic(m) {
		return false, fmt.Errorf("%v is not a condition function", v)
	}
	for name, arg := range m {
		switch name {
		case "Condition":
			s, ok := arg.(string)
			if !ok {
				return false, fmt.Errorf("invalid Condition: want a name, got %v", arg)
			}
			return r.condition(s)
		case "Fn::Equals":
			args, err := fixedArgs(name, arg, 2)
			if err != nil {
				return false, err
			}
			a, err := r.known(args[0])
			if err != nil {
				return false, err
			}
			b, err := r.known(args[1])
			if err != nil {
				return false, err
			}
			return reflect.DeepEqual(a, b), nil
		case "Fn::Not":
			args, err := fixedArgs(name, arg, 1)
			if err != nil {
				return false, err
			}
			holds, err := r.boolean(args[0])
			return !holds, err
		case "Fn::And", "Fn::Or":
			args, ok := arg.([]any)
			if !ok || len(args) < 2 {
				return false, fmt.Errorf("%s takes 2 to 10 conditions", name)
			}
			for _, a := range args {
				holds, err := r.boolean(a)
				if err != nil {
					return false, err
				}
				if name == "Fn::And" && !holds {
					return false, nil
				}
				if name == "Fn::Or" && holds {
					return true, nil
				}
			}
			return name == "Fn::And", nil
		}
		return false, fmt.Errorf("%s is not a condition function", name)
	}
	return false, nil
}

// known resolves v and requires the result to be free of intrinsics, with
// numbers as strings the way CloudFormation compares them.
func (r *resolver) known(v any) (any, error) {
	rv, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	if hasIntrinsic(rv) {
		return nil, fmt.Errorf("%v: %w", rv, ErrUnresolvable)
	}
	switch n := rv.(type) {
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(n), nil
	}
	return rv, nil
}

func hasIntrinsic(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if isIntrinsic(v) {
			return true
		}
		for _, item := range v {
			if hasIntrinsic(item) {
				return true
			}
		}
	case []any:
		for _, item := range v {
			if hasIntrinsic(item) {
				return true
			}
		}
	}
	return false
}

func fixedArgs(name string, arg any, n int) ([]any, error) {
	args, ok := arg.([]any)
	if !ok || len(args) != n {
		return nil, fmt.Errorf("%s takes %d arguments, got %v", name, n, arg)
	}
	return args, nil
}

func (r *resolver) sub(arg any) (any, error) {
	var (
		text string
		vars map[string]any
	)
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string and a map of variables, got %v", arg)
		}
		s, okText := a[0].(string)
		m, okVars := a[1].(map[string]any)
		if !okText || !okVars {
			return nil, fmt.Errorf("Fn::Sub takes a string and a map of variables, got %v", arg)
		}
		text = s
		resolved, err := r.resolve(m)
		if err != nil {
			return nil, err
		}
		vars, _ = resolved.(map[string]any)
	default:
		return nil, fmt.Errorf("Fn::Sub takes a string or a list, got %v", arg)
	}

	// First pass: find each ${...} and what it becomes; done tells whether
	// all of them resolved, in which case ${!Literal} escapes can be undone.
	type piece struct {
		literal     string
		placeholder string // original ${...}; empty for pure literal text
		value       string
		resolved    bool
		escaped     bool
	}
	var pieces []piece
	done := true
	rest := text
	for {
		start := strings.Index(rest, "${")
		if start < 0 {
			pieces = append(pieces, piece{literal: rest})
			break
		}
		end := strings.Index(rest[start:], "}")
		if end < 0 {
			pieces = append(pieces, piece{literal: rest})
			break
		}
		end += start
		pieces = append(pieces, piece{literal: rest[:start]})
		name := rest[start+2 : end]
		p := piece{placeholder: rest[start : end+1]}
		switch {
		case strings.HasPrefix(name, "!"):
			p.escaped, p.value = true, "${"+name[1:]+"}"
		default:
			value, ok, err := r.subVariable(name, vars)
			if err != nil {
				return nil, err
			}
			p.value, p.resolved = value, ok
			if !ok {
				done = false
			}
		}
		pieces = append(pieces, p)
		rest = rest[end+1:]
	}

	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(p.literal)
		switch {
		case p.placeholder == "":
		case p.resolved, p.escaped && done:
			b.WriteString(p.value)
		default:
			b.WriteString(p.placeholder)
		}
	}
	if done {
		return b.String(), nil
	}
	// Keep only the variables still referred to, so the result reads as the
	// template would with the known values filled in.
	if len(vars) > 0 {
		left := map[string]any{}
		for k, v := range vars {
			if strings.Contains(b.String(), "${"+k+"}") {
				left[k] = v
			}
		}
		if len(left) > 0 {
			return map[string]any{"Fn::Sub": []any{b.String(), left}}, nil
		}
	}
	return map[string]any{"Fn::Sub": b.String()}, nil
}

// subVariable returns the text for ${name}, and false when it is not known.
func (r *resolver) subVariable(name string, vars map[string]any) (string, bool, error) {
	if v, ok := vars[name]; ok {
		s, isString := v.(string)
		return s, isString, nil
	}
	if strings.Contains(name, ".") {
		// ${Resource.Attribute} is a GetAtt: known only after deployment.
		return "", false, nil
	}
	v, err := r.ref(name)
	if err != nil {
		return "", false, err
	}
	s, isString := v.(string)
	return s, isString, nil
}

func (r *resolver) join(arg any) (any, error) {
	args, err := fixedArgs("Fn::Join", arg, 2)
	if err != nil {
		return nil, err
	}
	resolved, err := r.resolve(args)
	if err != nil {
		return nil, err
	}
	ra, _ := resolved.([]any)
	delim, okDelim := ra[0].(string)
	items, okItems := ra[1].([]any)
	if !okDelim || !okItems {
		return map[string]any{"Fn::Join": resolved}, nil
	}
	parts := make([]string, 0, len(items))
	for _, item := range items {
		s, ok := item.(string)
		if !ok {
			return map[string]any{"Fn::Join": resolved}, nil
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, delim), nil
}

func (r *resolver) selectItem(arg any) (any, error) {
	args, err := fixedArgs("Fn::Select", arg, 2)
	if err != nil {
		return nil, err
	}
	resolved, err := r.resolve(args)
	if err != nil {
		return nil, err
	}
	ra, _ := resolved.([]any)
	items, okItems := ra[1].([]any)
	index, okIndex := -1, false
	switch i := ra[0].(type) {
	case int:
		index, okIndex = i, true
	case string:
		n, err := strconv.Atoi(i)
		index, okIndex = n, err == nil
	}
	if !okItems || !okIndex {
		return map[string]any{"Fn::Select": resolved}, nil
	}
	if index < 0 || index >= len(items) {
		return nil, fmt.Errorf("Fn::Select index %d is outside a list of %d", index, len(items))
	}
	return items[index], nil
}

func (r *resolver) split(arg any) (any, error) {
	args, err := fixedArgs("Fn::Split", arg, 2)
	if err != nil {
		return nil, err
	}
	resolved, err := r.resolve(args)
	if err != nil {
		return nil, err
	}
	ra, _ := resolved.([]any)
	delim, okDelim := ra[0].(string)
	s, okString := ra[1].(string)
	if !okDelim || !okString {
		return map[string]any{"Fn::Split": resolved}, nil
	}
	var out []any
	for _, part := range strings.Split(s, delim) {
		out = append(out, part)
	}
	return out, nil
}

func (r *resolver) findInMap(arg any) (any, error) {
	resolved, err := r.resolve(arg)
	if err != nil {
		return nil, err
	}
	ra, ok := resolved.([]any)
	if !ok || len(ra) < 3 {
		return nil, fmt.Errorf("Fn::FindInMap takes a map name and two keys, got %v", arg)
	}
	var keys []any
	for _, k := range ra[:3] {
		s, ok := k.(string)
		if !ok {
			return map[string]any{"Fn::FindInMap": resolved}, nil
		}
		keys = append(keys, s)
	}
	if v, found := Lookup(r.t.section("Mappings"), keys...); found {
		return v, nil
	}
	if len(ra) == 4 {
		if v, found := Lookup(ra[3], "DefaultValue"); found {
			return v, nil
		}
	}
	return nil, fmt.Errorf("Fn::FindInMap: Mappings has no %v", keys)
}
