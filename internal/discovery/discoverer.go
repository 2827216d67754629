package discovery

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gwtap/gwtap/internal/record"
)

// Key identifies an endpoint: an application, a host, a method and a
// template such as "/users/{userId}".
type Key struct{ App, Host, Method, Template string }

// Param is a path parameter of a template.
type Param struct {
	Name  string
	Index int    // position of the segment, 0 for the first after the leading '/'
	Type  string // one of the Type constants
}

// Sources of an endpoint's template.
const (
	// SourceRoute is a template API Gateway logged (resourcePath, routeKey).
	SourceRoute = "route"
	// SourceLearned is a template learned from concrete paths.
	SourceLearned = "learned"
)

// Endpoint is one discovered endpoint with the stats of its requests.
type Endpoint struct {
	Key
	// ID is stable and URL-safe, derived from Key with parameter names
	// ignored.
	ID string
	// Source is SourceRoute or SourceLearned.
	Source string
	Params []Param
	// Requests counts every request added to the endpoint, errors included;
	// Counted only those whose status class is counted (see Config).
	Requests, Counted int64
	// StatusClasses counts requests by "1xx" to "5xx"; "other" holds those
	// without a logged status.
	StatusClasses                      map[string]int64
	LatencyP50, LatencyP95, LatencyP99 float64 // milliseconds, within ~3%
	ResponseBytesP50                   float64
	// FirstSeen and LastSeen are zero when no request had a time.
	FirstSeen, LastSeen time.Time
	Stages              []string // sorted
	// Clients estimates the distinct source IPs (exact up to 32, then
	// within ~6.5%).
	Clients  int64
	Examples []string // concrete paths, first seen first
}

// Stats describes what a Discoverer has seen.
type Stats struct {
	Records  int64 // records given to Add
	Counted  int64 // records whose status class is counted: they shape the inventory
	Attached int64 // records of other classes added to an existing endpoint's stats
	Skipped  Skipped
	// Endpoints pass the noise filter; Candidates do not yet (too few
	// requests, or a word held back while its position is decided).
	Endpoints, Candidates int
	// Nodes is the size of the learned path trees, a measure of memory.
	Nodes int
}

// Skipped counts records left out, by reason.
type Skipped struct {
	Method   int64 // a method in Config.SkipMethods
	Loopback int64 // a loopback host, with Config.SkipLoopback
	// Status counts records whose status class is not counted and that
	// match no existing endpoint.
	Status int64
	// Invalid counts records without a method, or whose path is empty, not
	// absolute, longer than 8 KiB or deeper than 32 segments.
	Invalid int64
}

// maxPathLen is the longest path considered, in bytes.
const maxPathLen = 8192

// Discoverer builds an API inventory from records. It is safe for
// concurrent use; every method holds one lock for its whole call.
type Discoverer struct {
	mu     sync.Mutex
	cfg    settings
	learn  learner
	spaces map[spaceKey]*space
	st     Stats
	segs   []string // scratch, under mu
	tsegs  []string
	path   []*node
}

type spaceKey struct{ app, host string }

// space is the inventory of one host of one application.
type space struct {
	key    spaceKey
	root   *node
	routes *rnode
}

// New returns an empty Discoverer. It never fails: values out of range are
// clamped (MinRequests to 1, MaxExamples and MinSpan to 0) and an empty or
// unusable CountStatusClasses means {2}; use Config.Validate to report them.
func New(cfg Config) *Discoverer {
	s := newSettings(cfg)
	return &Discoverer{
		cfg:    s,
		learn:  learner{maxExamples: s.maxExamples},
		spaces: map[spaceKey]*space{},
	}
}

// Add adds records to the inventory. Each costs a walk down its path,
// about constant time for paths of bounded depth.
func (d *Discoverer) Add(recs ...record.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range recs {
		d.add(&recs[i])
	}
}

func (d *Discoverer) add(r *record.Record) {
	d.st.Records++
	method, host, segs, tmpl, ok := d.prepare(r)
	if !ok {
		return
	}
	counted := d.cfg.count[statusClass(r.Status)]
	key := spaceKey{r.AppID, host}
	sp := d.spaces[key]
	if sp == nil {
		if !counted {
			d.st.Skipped.Status++
			return
		}
		sp = &space{key: spaceKey{strings.Clone(r.AppID), strings.Clone(host)}, root: d.learn.newNode("", kindOther)}
		d.spaces[sp.key] = sp
	}
	if tmpl != "" {
		d.addRoute(sp, r, method, segs, tmpl, counted)
		return
	}
	if sp.routes != nil {
		if e := sp.routes.match(segs, method); e != nil {
			d.recordRoute(e, r, segs, counted, d.cfg.maxExamples)
			return
		}
	}
	if counted {
		n := d.learn.learn(sp.root, segs, method)
		n.ensureEndpoint(method).record(r, true, d.cfg.maxExamples)
		d.st.Counted++
		return
	}
	d.path = find(sp.root, segs, d.path[:0])
	var e *endpoint
	if d.path != nil {
		e = d.path[len(d.path)-1].endpoint(method)
	}
	if e == nil {
		d.st.Skipped.Status++
		return
	}
	e.record(r, false, d.cfg.maxExamples)
	d.st.Attached++
}

// prepare checks r and returns its method, host, path segments and route
// template, or false when r is skipped (and counted as such).
func (d *Discoverer) prepare(r *record.Record) (method, host string, segs []string, tmpl string, ok bool) {
	method = upperASCII(strings.TrimSpace(r.Method))
	if method == "" {
		d.st.Skipped.Invalid++
		return "", "", nil, "", false
	}
	if slices.Contains(d.cfg.skip, method) {
		d.st.Skipped.Method++
		return "", "", nil, "", false
	}
	host = lowerASCII(r.Host)
	if d.cfg.loopback && isLoopback(host) {
		d.st.Skipped.Loopback++
		return "", "", nil, "", false
	}
	tmpl = routeTemplate(r.Template)
	path := r.Path
	if path == "" {
		path = tmpl
	}
	if path == "" || path[0] != '/' || len(path) > maxPathLen {
		d.st.Skipped.Invalid++
		return "", "", nil, "", false
	}
	d.segs, ok = splitPath(path, d.segs[:0])
	if !ok {
		d.st.Skipped.Invalid++
		return "", "", nil, "", false
	}
	return method, host, d.segs, tmpl, true
}

// addRoute adds r, which carries its route template, to the route's endpoint.
func (d *Discoverer) addRoute(sp *space, r *record.Record, method string, segs []string, tmpl string, counted bool) {
	var ok bool
	if d.tsegs, ok = splitPath(tmpl, d.tsegs[:0]); !ok {
		d.st.Skipped.Invalid++
		return
	}
	if sp.routes == nil {
		if !counted {
			d.st.Skipped.Status++
			return
		}
		sp.routes = &rnode{}
	}
	e, created := sp.routes.route(d.tsegs, method, tmpl, counted)
	if e == nil {
		d.st.Skipped.Status++
		return
	}
	if created {
		// Ground truth wins: what was learned for paths this route covers
		// joins the route's endpoint.
		for _, n := range collectLearned(sp.root, d.tsegs, nil) {
			if le := n.endpoint(method); le != nil {
				e.merge(&le.stats, d.cfg.maxExamples)
				n.ends = slices.DeleteFunc(n.ends, func(x *endpoint) bool { return x == le })
			}
		}
	}
	maxExamples := d.cfg.maxExamples
	if r.Path == "" || strings.ContainsRune(r.Path, '{') {
		maxExamples = 0 // the template stood in for the path
	}
	d.recordRoute(e, r, segs, counted, maxExamples)
}

func (d *Discoverer) recordRoute(e *routeEndpoint, r *record.Record, segs []string, counted bool, maxExamples int) {
	e.observe(segs)
	e.record(r, counted, maxExamples)
	if counted {
		d.st.Counted++
	} else {
		d.st.Attached++
	}
}

// splitPath appends the non-empty segments of path to segs; false when
// there are more than maxDepth.
func splitPath(path string, segs []string) ([]string, bool) {
	for i := 0; i < len(path); {
		for i < len(path) && path[i] == '/' {
			i++
		}
		j := i
		for j < len(path) && path[j] != '/' {
			j++
		}
		if j > i {
			if len(segs) == maxDepth {
				return segs, false
			}
			segs = append(segs, path[i:j])
		}
		i = j
	}
	return segs, true
}

// isLoopback reports whether host (lower case, maybe with a port) is
// localhost, *.localhost, in 127.0.0.0/8 or ::1 (also IPv4-mapped). It
// runs for every record, so the common case, a name, costs a few byte
// comparisons and no allocation.
func isLoopback(host string) bool {
	switch {
	case host == "":
		return false
	case host[0] == '[':
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		host = host[1:end]
	case strings.Count(host, ":") == 1:
		host = host[:strings.IndexByte(host, ':')]
	}
	host = strings.TrimSuffix(host, ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if !strings.HasPrefix(host, "127.") && !strings.Contains(host, ":") {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

func upperASCII(s string) string {
	for i := range len(s) {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

func lowerASCII(s string) string {
	for i := range len(s) {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// Endpoints returns the endpoints that pass the noise filter, sorted by
// application, host, template and method.
func (d *Discoverer) Endpoints() []Endpoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Endpoint
	d.each(func(sp *space, path []*node, e *endpoint, re *routeEndpoint) {
		if path != nil && e.visible(&d.cfg) {
			out = append(out, d.build(sp, path, e, nil))
		} else if re != nil && re.visible(&d.cfg) {
			out = append(out, d.build(sp, nil, nil, re))
		}
	})
	slices.SortFunc(out, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Template, b.Template), cmp.Compare(a.Method, b.Method))
	})
	return out
}

// Stats returns counts of what d has seen and holds.
func (d *Discoverer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st
	d.each(func(_ *space, path []*node, e *endpoint, re *routeEndpoint) {
		if path != nil && e.visible(&d.cfg) || re != nil && re.visible(&d.cfg) {
			st.Endpoints++
		} else {
			st.Candidates++
		}
	})
	st.Nodes = d.learn.nodes
	return st
}

// Match returns the key of the listed endpoint (one Endpoints returns)
// that a request like r belongs to, and false when there is none: r is
// skipped, its path leads nowhere known yet, or the endpoint is still
// below the noise filter. It changes nothing.
func (d *Discoverer) Match(r record.Record) (Key, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k, visible, ok := d.lookup(&r)
	return k, ok && visible
}

// lookup finds the endpoint a request like r belongs to, visible or not.
// Unlike Add it routes an unknown word at a parameter position into the
// parameter, as it does for errors.
func (d *Discoverer) lookup(r *record.Record) (k Key, visible, ok bool) {
	saved := d.st
	method, host, segs, tmpl, ok := d.prepare(r)
	d.st = saved
	if !ok {
		return Key{}, false, false
	}
	sp := d.spaces[spaceKey{r.AppID, host}]
	if sp == nil {
		return Key{}, false, false
	}
	if tmpl != "" {
		if sp.routes == nil {
			return Key{}, false, false
		}
		tsegs, _ := splitPath(tmpl, nil)
		if e, _ := sp.routes.route(tsegs, method, tmpl, false); e != nil {
			return Key{sp.key.app, sp.key.host, e.method, e.template}, e.visible(&d.cfg), true
		}
		return Key{}, false, false
	}
	if sp.routes != nil {
		if e := sp.routes.match(segs, method); e != nil {
			return Key{sp.key.app, sp.key.host, e.method, e.template}, e.visible(&d.cfg), true
		}
	}
	path := find(sp.root, segs, nil)
	if path == nil {
		return Key{}, false, false
	}
	e := path[len(path)-1].endpoint(method)
	if e == nil {
		return Key{}, false, false
	}
	tmplOut, _ := renderLearned(path)
	return Key{sp.key.app, sp.key.host, method, tmplOut}, e.visible(&d.cfg) && !hidden(path), true
}

// hidden reports whether a learned path goes through a pending word: its
// endpoints wait until the word is a literal or folded into the parameter.
func hidden(path []*node) bool {
	for i := 1; i < len(path); i++ {
		if path[i-1].pending[path[i].seg] == path[i] && !path[i].isParam {
			return true
		}
	}
	return false
}

// each calls fn for every endpoint, in no particular order: a learned one
// with its path from the root (nil below a pending word, whose endpoints
// wait until the word is a literal or folded into the parameter), or a
// route one (e nil).
func (d *Discoverer) each(fn func(sp *space, path []*node, e *endpoint, re *routeEndpoint)) {
	var walk func(sp *space, n *node, path []*node, pending bool)
	walk = func(sp *space, n *node, path []*node, pending bool) {
		path = append(path, n)
		for _, e := range n.ends {
			if pending {
				fn(sp, nil, e, nil)
			} else {
				fn(sp, path, e, nil)
			}
		}
		for _, c := range n.lits {
			walk(sp, c, path, pending)
		}
		for _, c := range n.pending {
			walk(sp, c, path, true)
		}
		if n.param != nil {
			walk(sp, n.param, path, pending)
		}
	}
	var walkRoutes func(sp *space, n *rnode)
	walkRoutes = func(sp *space, n *rnode) {
		for _, e := range n.ends {
			fn(sp, nil, nil, e)
		}
		for _, c := range n.lits {
			walkRoutes(sp, c)
		}
		if n.param != nil {
			walkRoutes(sp, n.param)
		}
	}
	for _, sp := range d.spaces {
		walk(sp, sp.root, nil, false)
		if sp.routes != nil {
			walkRoutes(sp, sp.routes)
		}
	}
}

// build turns an endpoint into its public form.
func (d *Discoverer) build(sp *space, path []*node, e *endpoint, re *routeEndpoint) Endpoint {
	var out Endpoint
	var st *stats
	if re != nil {
		out.Key = Key{sp.key.app, sp.key.host, re.method, re.template}
		out.Source = SourceRoute
		out.Params = make([]Param, len(re.params))
		for i, p := range re.params {
			p.Type = typeOf(&re.kinds[i])
			out.Params[i] = p
		}
		st = &re.stats
	} else {
		tmpl, params := renderLearned(path)
		out.Key = Key{sp.key.app, sp.key.host, e.method, tmpl}
		out.Source = SourceLearned
		out.Params = params
		st = &e.stats
	}
	out.ID = endpointID(out.Key)
	out.Requests, out.Counted = st.requests, st.counted
	out.StatusClasses = map[string]int64{}
	for cl, n := range st.classes {
		if n == 0 {
			continue
		}
		name := "other"
		if cl > 0 {
			name = string(rune('0'+cl)) + "xx"
		}
		out.StatusClasses[name] = n
	}
	out.LatencyP50 = st.latency.quantile(0.50)
	out.LatencyP95 = st.latency.quantile(0.95)
	out.LatencyP99 = st.latency.quantile(0.99)
	out.ResponseBytesP50 = st.bytes.quantile(0.50)
	if st.timed {
		out.FirstSeen = time.UnixMilli(st.first).UTC()
		out.LastSeen = time.UnixMilli(st.last).UTC()
	}
	out.Stages = slices.Sorted(slices.Values(st.stages))
	out.Clients = int64(math.Round(st.clients.estimate()))
	out.Examples = slices.Clone(st.examples)
	return out
}
