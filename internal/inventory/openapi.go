package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAPIVersion is the OpenAPI version of the documents OpenAPI builds.
const OpenAPIVersion = "3.1.0"

// ErrAmbiguousHost means an OpenAPI export was asked for endpoints on more
// than one host: one document describes one server's paths.
var ErrAmbiguousHost = fmt.Errorf("%w: the endpoints span several hosts; choose one with host=", ErrInvalidQuery)

// OpenAPIDocument is an OpenAPI 3.1 document. Only the parts the export
// fills are modelled; encoding/json writes map keys sorted, so the same
// inventory always yields the same bytes.
type OpenAPIDocument struct {
	OpenAPI string               `json:"openapi"`
	Info    OpenAPIInfo          `json:"info"`
	Servers []OpenAPIServer      `json:"servers,omitempty"`
	Paths   map[string]*PathItem `json:"paths"`
}

// OpenAPIInfo is the document's info object.
type OpenAPIInfo struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

// OpenAPIServer is one server object.
type OpenAPIServer struct {
	URL       string                           `json:"url"`
	Variables map[string]OpenAPIServerVariable `json:"variables,omitempty"`
}

// OpenAPIServerVariable is a variable of a server URL.
type OpenAPIServerVariable struct {
	Default string   `json:"default"`
	Enum    []string `json:"enum,omitempty"`
}

// PathItem holds the operations of one path template, by lower-case method.
type PathItem struct {
	Parameters []OpenAPIParameter    `json:"parameters,omitempty"`
	Operations map[string]*Operation `json:"-"`
}

// MarshalJSON writes the operations as the path item's method fields.
func (p *PathItem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Operations)+1)
	for k, op := range p.Operations {
		m[k] = op
	}
	if len(p.Parameters) > 0 {
		m["parameters"] = p.Parameters
	}
	return marshalJSON(m)
}

// Operation is one method of a path.
type Operation struct {
	OperationID string                      `json:"operationId"`
	Summary     string                      `json:"summary"`
	Description string                      `json:"description,omitempty"`
	Responses   map[string]*OpenAPIResponse `json:"responses"`
	// The x-gwtap-* extensions carry what was observed.
	Requests  int64    `json:"x-gwtap-requests"`
	FirstSeen string   `json:"x-gwtap-first-seen,omitempty"`
	LastSeen  string   `json:"x-gwtap-last-seen,omitempty"`
	Examples  []string `json:"x-gwtap-examples,omitempty"`
}

// OpenAPIParameter is a path parameter.
type OpenAPIParameter struct {
	Name        string         `json:"name"`
	In          string         `json:"in"`
	Required    bool           `json:"required"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"`
}

// OpenAPIResponse is one observed response status (a class such as 2XX:
// the inventory counts responses by class).
type OpenAPIResponse struct {
	Description string `json:"description"`
	Count       int64  `json:"x-gwtap-count"`
}

// operationMethods are the methods an OpenAPI path item can hold.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// OpenAPI returns an OpenAPI 3.1 document describing eps, which must all be
// on one host (else ErrAmbiguousHost): one path per template, one operation
// per method with the status classes observed, path parameters typed from
// what their values looked like. Endpoints whose method OpenAPI cannot
// express are left out. title names the document.
func OpenAPI(eps []Endpoint, title string) (*OpenAPIDocument, error) {
	doc := &OpenAPIDocument{
		OpenAPI: OpenAPIVersion,
		Info: OpenAPIInfo{
			Title:       title,
			Description: "Endpoints observed in Amazon API Gateway access logs by gwtap. Response keys are the status classes seen; x-gwtap-* fields carry the observed counts.",
			Version:     "observed",
		},
		Paths: map[string]*PathItem{},
	}
	hosts := map[string]bool{}
	var stages []string
	for i := range eps {
		hosts[eps[i].Host] = true
		for _, s := range eps[i].Stages {
			if !slices.Contains(stages, s) {
				stages = append(stages, s)
			}
		}
	}
	if len(hosts) > 1 {
		return nil, ErrAmbiguousHost
	}
	for h := range hosts {
		doc.Servers = []OpenAPIServer{server(h, stages)}
	}

	// Templates that differ only in parameter names are one OpenAPI path;
	// the most requested endpoint names the parameters.
	sorted := make([]*Endpoint, 0, len(eps))
	for i := range eps {
		if slices.Contains(operationMethods, strings.ToLower(eps[i].Method)) {
			sorted = append(sorted, &eps[i])
		}
	}
	slices.SortFunc(sorted, func(a, b *Endpoint) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Template, b.Template), cmp.Compare(a.Method, b.Method))
	})
	byShape := map[string]string{}
	opIDs := map[string]bool{}
	for _, e := range sorted {
		segs, params := splitTemplate(e)
		shape := shapeOf(segs)
		path, ok := byShape[shape]
		if !ok {
			path = "/" + strings.Join(segs, "/")
			byShape[shape] = path
			doc.Paths[path] = &PathItem{Operations: map[string]*Operation{}, Parameters: params}
		}
		item := doc.Paths[path]
		method := strings.ToLower(e.Method)
		op, ok := item.Operations[method]
		if !ok {
			op = &Operation{
				OperationID: operationID(method, path, opIDs),
				Summary:     strings.ToUpper(method) + " " + path,
				Responses:   map[string]*OpenAPIResponse{},
			}
			item.Operations[method] = op
		}
		mergeOperation(op, e)
	}
	for _, item := range doc.Paths {
		for _, op := range item.Operations {
			if len(op.Responses) == 0 {
				// OpenAPI requires at least one response.
				op.Responses["default"] = &OpenAPIResponse{Description: "No status was logged."}
			}
		}
	}
	return doc, nil
}

func server(host string, stages []string) OpenAPIServer {
	// On execute-api domains the stage is the first path segment.
	if strings.Contains(host, ".execute-api.") && len(stages) > 0 {
		slices.Sort(stages)
		return OpenAPIServer{
			URL:       "https://" + host + "/{stage}",
			Variables: map[string]OpenAPIServerVariable{"stage": {Default: stages[0], Enum: stages}},
		}
	}
	return OpenAPIServer{URL: "https://" + host}
}

func mergeOperation(op *Operation, e *Endpoint) {
	op.Requests += e.Requests
	if !e.FirstSeen.IsZero() {
		if s := e.FirstSeen.UTC().Format(time.RFC3339); op.FirstSeen == "" || s < op.FirstSeen {
			op.FirstSeen = s
		}
	}
	if !e.LastSeen.IsZero() {
		if s := e.LastSeen.UTC().Format(time.RFC3339); s > op.LastSeen {
			op.LastSeen = s
		}
	}
	for _, ex := range e.Examples {
		if len(op.Examples) < 5 && !slices.Contains(op.Examples, ex) {
			op.Examples = append(op.Examples, ex)
		}
	}
	for _, class := range sortedClasses(e.StatusClasses) {
		if len(class) != 3 || class[0] < '1' || class[0] > '5' || class[1:] != "xx" {
			continue
		}
		key := class[:1] + "XX"
		r, ok := op.Responses[key]
		if !ok {
			r = &OpenAPIResponse{}
			op.Responses[key] = r
		}
		r.Count += e.StatusClasses[class]
		r.Description = fmt.Sprintf("Observed %d %s.", r.Count, plural(r.Count, "time"))
	}
	op.Description = fmt.Sprintf("Observed %d %s.", op.Requests, plural(op.Requests, "request"))
}

func plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// splitTemplate returns e's template as OpenAPI path segments and its path
// parameters. A greedy {name+} becomes {name}; a repeated name gets a
// numeric suffix, since OpenAPI names must be unique within a path.
func splitTemplate(e *Endpoint) ([]string, []OpenAPIParameter) {
	var segs []string
	var params []OpenAPIParameter
	seen := map[string]bool{}
	for i, seg := range strings.Split(strings.Trim(e.Template, "/"), "/") {
		if seg == "" {
			continue
		}
		name, ok := paramName(seg)
		if !ok {
			// A brace in a literal would read as a parameter.
			segs = append(segs, strings.NewReplacer("{", "%7B", "}", "%7D").Replace(seg))
			continue
		}
		greedy := strings.HasSuffix(name, "+")
		name = strings.TrimSuffix(name, "+")
		if name == "" {
			name = "param"
		}
		for base, n := name, 2; seen[name]; n++ {
			name = base + strconv.Itoa(n)
		}
		seen[name] = true
		p := OpenAPIParameter{Name: name, In: "path", Required: true, Schema: schemaFor(paramType(e, seg, i))}
		if greedy {
			p.Description = "Greedy: the rest of the path, slashes included."
		}
		params = append(params, p)
		segs = append(segs, "{"+name+"}")
	}
	return segs, params
}

func paramName(seg string) (string, bool) {
	if len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// paramType finds the observed type of the parameter written seg at
// segment index i: by name first, then by position.
func paramType(e *Endpoint, seg string, i int) string {
	name, _ := paramName(seg)
	for _, p := range e.Params {
		if p.Name == name || p.Name == strings.TrimSuffix(name, "+") {
			return p.Type
		}
	}
	for _, p := range e.Params {
		if p.Index == i {
			return p.Type
		}
	}
	return ""
}

func schemaFor(typ string) map[string]any {
	switch typ {
	case "integer":
		return map[string]any{"type": "integer"}
	case "number":
		return map[string]any{"type": "number"}
	case "uuid":
		return map[string]any{"type": "string", "format": "uuid"}
	case "hex":
		return map[string]any{"type": "string", "pattern": "^[0-9A-Fa-f]+$"}
	case "date":
		return map[string]any{"type": "string", "format": "date"}
	case "date-time":
		return map[string]any{"type": "string", "format": "date-time"}
	case "ip":
		return map[string]any{"type": "string", "anyOf": []any{map[string]any{"format": "ipv4"}, map[string]any{"format": "ipv6"}}}
	case "email":
		return map[string]any{"type": "string", "format": "email"}
	default:
		return map[string]any{"type": "string"}
	}
}

// shapeOf is a path with its parameter names removed.
func shapeOf(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if _, ok := paramName(s); ok {
			b.WriteString("{}")
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

// operationID returns a unique identifier made of the method and the path's
// letters and digits.
func operationID(method, path string, used map[string]bool) string {
	var b strings.Builder
	b.WriteString(method)
	prevSep := false
	for _, r := range path {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !ok {
			if !prevSep {
				b.WriteByte('_')
			}
			prevSep = true
			continue
		}
		b.WriteRune(r)
		prevSep = false
	}
	id := strings.TrimRight(b.String(), "_")
	for base, n := id, 2; used[id]; n++ {
		id = base + "_" + strconv.Itoa(n)
	}
	used[id] = true
	return id
}
