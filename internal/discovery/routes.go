package discovery

import (
	"maps"
	"slices"
	"strings"
)

// rnode is one position of the tree of ground-truth route templates (from
// resourcePath or routeKey) of one host.
type rnode struct {
	lits  map[string]*rnode
	param *rnode
	ends  []*routeEndpoint
}

// routeEndpoint is one method of one logged route template.
type routeEndpoint struct {
	method   string
	template string
	params   []Param           // names and indexes from the template
	kinds    [][numKinds]int64 // observed value kinds per param
	stats
}

// routeTemplate returns the route template logged in t, or "" when t is
// not one the inventory can use: empty, "$default", or greedy
// ("/{proxy+}" matches any path, so the path itself is learned instead).
// An HTTP API route key ("GET /pets/{id}") gives its path.
func routeTemplate(t string) string {
	t = strings.TrimSpace(t)
	if i := strings.LastIndexByte(t, ' '); i >= 0 {
		t = t[i+1:]
	}
	if t == "" || t[0] != '/' || strings.Contains(t, "+}") {
		return ""
	}
	if len(t) > 1 && t[len(t)-1] == '/' {
		t = strings.TrimRight(t, "/")
		if t == "" {
			t = "/"
		}
	}
	return t
}

// isParamSegment reports whether a template segment is "{name}".
func isParamSegment(s string) bool {
	return len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}'
}

// route returns the endpoint of method at template (split into segs),
// creating it when create is set, and reports whether it was created.
func (r *rnode) route(segs []string, method, template string, create bool) (*routeEndpoint, bool) {
	n := r
	for _, s := range segs {
		var next *rnode
		if isParamSegment(s) {
			next = n.param
			if next == nil && create {
				next = &rnode{}
				n.param = next
			}
		} else {
			next = n.lits[s]
			if next == nil && create {
				next = &rnode{}
				if n.lits == nil {
					n.lits = map[string]*rnode{}
				}
				n.lits[strings.Clone(s)] = next
			}
		}
		if next == nil {
			return nil, false
		}
		n = next
	}
	for _, e := range n.ends {
		if e.method == method && e.template == template {
			return e, false
		}
	}
	if !create {
		return nil, false
	}
	e := &routeEndpoint{method: strings.Clone(method), template: strings.Clone(template)}
	for i, s := range segs {
		if isParamSegment(s) {
			e.params = append(e.params, Param{Name: s[1 : len(s)-1], Index: i, Type: TypeString})
		}
	}
	e.kinds = make([][numKinds]int64, len(e.params))
	n.ends = append(n.ends, e)
	return e, true
}

// match returns the endpoint of method whose template matches the concrete
// path segs, preferring literal segments to parameters at every position
// as API Gateway does, or nil.
func (r *rnode) match(segs []string, method string) *routeEndpoint {
	if len(segs) == 0 {
		var found *routeEndpoint
		for _, e := range r.ends {
			if e.method == method && (found == nil || e.template < found.template) {
				found = e
			}
		}
		return found
	}
	if c := r.lits[segs[0]]; c != nil {
		if e := c.match(segs[1:], method); e != nil {
			return e
		}
	}
	if r.param != nil {
		return r.param.match(segs[1:], method)
	}
	return nil
}

// observe adds a counted or attached request's parameter value kinds.
func (e *routeEndpoint) observe(segs []string) {
	for i, p := range e.params {
		if p.Index < len(segs) {
			if s := segs[p.Index]; !isParamSegment(s) {
				e.kinds[i][classify(s)]++
			}
		}
	}
}

// collectLearned appends the learned nodes whose templates the route
// template segs covers: a literal template segment follows the same
// literal (or pending word), a parameter follows every child.
func collectLearned(n *node, segs []string, out []*node) []*node {
	if len(segs) == 0 {
		return append(out, n)
	}
	s, rest := segs[0], segs[1:]
	if !isParamSegment(s) {
		if c := n.lits[s]; c != nil {
			out = collectLearned(c, rest, out)
		}
		if c := n.pending[s]; c != nil {
			out = collectLearned(c, rest, out)
		}
		return out
	}
	for _, m := range []map[string]*node{n.lits, n.pending} {
		for _, v := range slices.Sorted(maps.Keys(m)) {
			out = collectLearned(m[v], rest, out)
		}
	}
	if n.param != nil {
		out = collectLearned(n.param, rest, out)
	}
	return out
}
