package discovery

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Tuning of the learner. docs/inventory.md explains each rule; the tests
// in discoverer_test.go and stability_test.go pin the behaviour they produce.
const (
	// maxDepth is the deepest path learned, in segments; deeper paths are
	// skipped as invalid rather than growing the tree without bound.
	maxDepth = 32
	// hardCapLiterals is the most literal children a position keeps: past
	// it the position is a parameter whatever the statistics say, which
	// bounds memory per position.
	hardCapLiterals = 256

	// A position under a plural word ("/articles/…", "/users/…") holds ids
	// more often than not, so less evidence is asked of it.
	collectionMinDistinct = 8
	collectionMinRequests = 12
	collectionMinNewRate  = 0.5
	// Below a plural word, values that share sub-paths
	// ("/profiles/jake/follow", "/profiles/anna/follow") are instances of
	// one parameter: sharedMinValues of them lower the bar to
	// sharedMinDistinct values in sharedMinRequests requests.
	sharedMinValues   = 3
	sharedMinDistinct = 4
	sharedMinRequests = 6
	// Elsewhere (the root, below a version, below a parameter) children are
	// usually resource names, so more evidence is asked.
	neutralMinDistinct = 16
	neutralMinRequests = 64
	neutralMinNewRate  = 0.6
	// Values with digits, punctuation or many parts are data, not names: a
	// position where three quarters of the distinct values are such needs
	// less evidence, even when a few popular values recur a lot.
	mixedMinDistinct = 6
	mixedMinRequests = 8
	mixedMinNewRate  = 0.25

	// A word at a parameter position becomes a literal sibling when it has
	// promoteMin requests and promoteFactor times the requests of a typical
	// parameter value, and its sub-paths are not those of the parameter.
	promoteMin    = 3
	promoteFactor = 2.5
	// A pending word that reached pendingDecide requests without standing
	// out is just a popular value and is folded into the parameter.
	pendingDecide = 16
	// pendingCap is how many candidate literal siblings a parameter
	// position holds back at once.
	pendingCap = 8
	// pendingWindow is how many requests through its position a pending
	// word has to recur in; one that does not is a value. Checked every
	// pendingCheckEvery requests.
	pendingWindow     = 64
	pendingCheckEvery = 8
	// maxPromoted bounds the literal siblings of one parameter.
	maxPromoted = 8
	// A word with sub-paths beside a parameter with sub-paths needs
	// literalEvidence requests, and sub-paths none of which (instanceDepth
	// levels deep) the parameter has, to stay a literal.
	literalEvidence = 16
	instanceDepth   = 3

	// A typed parameter that saw a single value in singleValueMin requests
	// is a literal ("/rest/api/3", "/api/2.0"), until mergeBackDistinct
	// values at that position show it was an id after all.
	singleValueMin    = 24
	mergeBackDistinct = 4
)

// node is one position of a learned path tree: a literal segment, a
// pending candidate literal, or the parameter of its parent position.
type node struct {
	seg      string // literal value; empty for a parameter
	kind     kind   // class of seg
	isParam  bool
	typedLit bool // a literal made from a single-valued typed parameter
	count    int64
	seq      uint64 // creation order, for deterministic tie-breaks
	mark     int64  // for a pending word: its parent's count at its last request

	// Children. A position is in literal mode until the statistics of its
	// literal children say it holds values; then it is variable: new word
	// values wait in pending, everything else goes to param.
	lits      map[string]*node
	pending   map[string]*node
	param     *node
	variable  bool
	absorbed  *bloom // word values folded into param, when variable
	promoted  int    // literal siblings admitted beside param
	typedLits int    // lits that are typedLit

	// Parameter bookkeeping, when isParam.
	values distinct
	kinds  [numKinds]int64
	first  string // the only value seen so far, unless multi
	multi  bool

	ends []*endpoint
}

// endpoint is one method at one node.
type endpoint struct {
	method string
	stats
}

// learner builds path trees. It is not safe for concurrent use; the
// Discoverer serialises calls.
type learner struct {
	maxExamples int
	seq         uint64
	nodes       int
}

func (l *learner) newNode(seg string, k kind) *node {
	l.seq++
	l.nodes++
	return &node{seg: strings.Clone(seg), kind: k, seq: l.seq}
}

func (l *learner) ensureParam(n *node) *node {
	if n.param == nil {
		n.param = l.newNode("", kindOther)
		n.param.isParam = true
	}
	return n.param
}

func (n *node) endpoint(method string) *endpoint {
	for _, e := range n.ends {
		if e.method == method {
			return e
		}
	}
	return nil
}

func (n *node) ensureEndpoint(method string) *endpoint {
	if e := n.endpoint(method); e != nil {
		return e
	}
	e := &endpoint{method: strings.Clone(method)}
	n.ends = append(n.ends, e)
	return e
}

func (n *node) hasChildren() bool {
	return len(n.lits) > 0 || len(n.pending) > 0 || n.param != nil
}

// learn walks the path segs of a method from root, creating and
// re-templating as needed, and returns the node the path ends at. Every
// node on the way has counted the request.
func (l *learner) learn(root *node, segs []string, method string) *node {
	n := root
	n.count++
	for i, s := range segs {
		n = l.step(n, s, segs[i+1:], method)
	}
	return n
}

// step moves a counted request from position n to the child for segment s
// (rest is the rest of its path) and returns that child, whose count
// includes the request.
func (l *learner) step(n *node, s string, rest []string, method string) *node {
	if len(n.pending) > 0 && n.count%pendingCheckEvery == 0 {
		l.expirePending(n)
	}
	if c := n.lits[s]; c != nil {
		c.count++
		return c
	}
	if c := n.pending[s]; c != nil {
		c.count++
		c.mark = n.count
		if continuesParam(n.param, rest, method) {
			return l.absorb(n, c)
		}
		return l.checkPending(n, c)
	}
	k := classify(s)
	if k.typed() {
		return l.toParam(n, s, k)
	}
	if n.variable {
		if !k.pendingEligible() {
			return l.toParam(n, s, k)
		}
		// A word folded into the parameter stays there: the bloom makes
		// sure it never comes back as a pending candidate.
		if h := hashString(s); n.absorbed.has(h) {
			return l.toParam(n, s, k)
		} else if continuesParam(n.param, rest, method) {
			n.absorbed.add(h)
			return l.toParam(n, s, k)
		}
		if len(n.pending) >= pendingCap {
			l.evictPending(n)
		}
		c := l.newNode(s, k)
		c.count, c.mark = 1, n.count
		if n.pending == nil {
			n.pending = map[string]*node{}
		}
		n.pending[c.seg] = c
		return c
	}
	c := l.newNode(s, k)
	c.count = 1
	if n.lits == nil {
		n.lits = map[string]*node{}
	}
	n.lits[c.seg] = c
	if l.maybeVary(n) {
		return n.locate(s)
	}
	return c
}

// locate returns the child that value s now belongs to.
func (n *node) locate(s string) *node {
	if c := n.lits[s]; c != nil {
		return c
	}
	if c := n.pending[s]; c != nil {
		return c
	}
	return n.param
}

// toParam routes a counted request with value s of kind k into n's parameter.
func (l *learner) toParam(n *node, s string, k kind) *node {
	p := l.ensureParam(n)
	p.count++
	p.kinds[k]++
	p.values.add(hashString(s))
	p.noteValue(s)
	if !p.multi && k.typed() && !n.variable && p.count >= singleValueMin && !strings.ContainsAny(p.first, "{}") {
		return l.promoteSingle(n)
	}
	if p.multi && n.typedLits > 0 && p.values.estimate() >= mergeBackDistinct {
		l.mergeBackTyped(n)
	}
	return p
}

// noteValue tracks whether parameter n has seen more than one value.
func (n *node) noteValue(s string) {
	switch {
	case n.multi:
	case n.first == "":
		n.first = strings.Clone(s)
	case n.first != s:
		n.multi, n.first = true, ""
	}
}

// promoteSingle turns n's parameter, which has only ever seen one typed
// value, into a literal: "/rest/api/{id}" becomes "/rest/api/3". The node
// keeps its subtree and counts, so nothing is split.
func (l *learner) promoteSingle(n *node) *node {
	p := n.param
	n.param = nil
	p.isParam, p.typedLit = false, true
	p.seg, p.first = p.first, ""
	p.kind = classify(p.seg)
	p.values, p.kinds = distinct{}, [numKinds]int64{}
	if n.lits == nil {
		n.lits = map[string]*node{}
	}
	n.lits[p.seg] = p
	n.typedLits++
	return p
}

// mergeBackTyped folds the typed literals of n into its parameter, now that
// the parameter has shown many values: "/users/42" was a busy user, not a
// literal.
func (l *learner) mergeBackTyped(n *node) {
	for _, v := range slices.Sorted(maps.Keys(n.lits)) {
		if c := n.lits[v]; c != nil && c.typedLit {
			l.absorb(n, c)
		}
	}
}

// checkPending decides, once it has enough requests, whether pending word c
// at parameter position n is a literal sibling or a value, and returns the
// node the request continues from.
func (l *learner) checkPending(n, c *node) *node {
	if c.count < promoteMin {
		return c
	}
	p := n.param
	typical := 1.0
	if p != nil {
		if v := p.values.estimate(); v > 0 {
			typical = max(typical, float64(p.count)/v)
		}
	}
	if float64(c.count) < promoteFactor*typical {
		if c.count >= pendingDecide {
			return l.absorb(n, c)
		}
		return c
	}
	if n.promoted < maxPromoted && !instanceLike(c, p) {
		delete(n.pending, c.seg)
		if n.lits == nil {
			n.lits = map[string]*node{}
		}
		n.lits[c.seg] = c
		n.promoted++
		return c
	}
	return l.absorb(n, c)
}

// continuesParam reports whether a request whose path continues with rest
// (method at its end) is one more request of parameter p: its next segment
// is one p knows ("/articles/<word>/comments" when p has "comments"), or it
// ends here with a method p has that collections and actions rarely do
// (PUT, PATCH, DELETE). Literal siblings such as "/articles/feed" do
// neither.
func continuesParam(p *node, rest []string, method string) bool {
	if p == nil {
		return false
	}
	if len(rest) == 0 {
		switch method {
		case "PUT", "PATCH", "DELETE":
			return p.endpoint(method) != nil
		}
		return false
	}
	next := rest[0]
	if p.lits[next] != nil || p.pending[next] != nil {
		return true
	}
	return p.param != nil && (p.variable || classify(next).typed())
}

// expirePending folds into n's parameter the pending words that did not
// recur within pendingWindow requests through n: one-off values.
func (l *learner) expirePending(n *node) {
	var stale []*node
	for _, c := range n.pending {
		if n.count-c.mark >= pendingWindow {
			stale = append(stale, c)
		}
	}
	slices.SortFunc(stale, func(a, b *node) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range stale {
		l.absorb(n, c)
	}
}

// evictPending folds the least used pending word of n (the oldest among
// equals) into the parameter, to make room.
func (l *learner) evictPending(n *node) {
	var victim *node
	for _, c := range n.pending {
		if victim == nil || c.count < victim.count || c.count == victim.count && c.seq < victim.seq {
			victim = c
		}
	}
	if victim != nil {
		l.absorb(n, victim)
	}
}

// absorb folds child c of n (a literal or pending value) into n's
// parameter and returns the parameter.
func (l *learner) absorb(n, c *node) *node {
	delete(n.lits, c.seg)
	delete(n.pending, c.seg)
	if c.typedLit {
		n.typedLits--
	}
	p := l.ensureParam(n)
	h := hashString(c.seg)
	if n.absorbed != nil && c.kind.pendingEligible() {
		n.absorbed.add(h)
	}
	p.values.add(h)
	p.kinds[c.kind] += c.count
	p.noteValue(c.seg)
	l.merge(p, c)
	return p
}

// maybeVary makes n variable when the statistics of its literal children
// say they are values, and reports whether it did.
func (l *learner) maybeVary(n *node) bool {
	if n.variable {
		return false
	}
	var distinctN, total, once, mixed int64
	for _, c := range n.lits {
		if c.typedLit {
			continue
		}
		distinctN++
		total += c.count
		if c.count == 1 {
			once++
		}
		if c.kind.mixedLike() {
			mixed++
		}
	}
	collection := isCollection(n)
	shared := int64(0)
	if collection {
		shared = sharedChildren(n)
	}
	if !shouldVary(collection, distinctN, total, once, mixed, shared) {
		return false
	}
	l.vary(n)
	return true
}

// shouldVary is the rule that turns a position into a parameter: enough
// distinct values, and a high rate of new ones (values seen once per
// request, the Good-Turing estimate of the chance that the next request
// brings a value never seen). A fixed set of names stops producing new
// values; ids, slugs and usernames keep doing so.
func shouldVary(collection bool, distinctN, total, once, mixed, shared int64) bool {
	if distinctN >= hardCapLiterals {
		return true
	}
	if total == 0 {
		return false
	}
	newRate := float64(once) / float64(total)
	if mixed >= mixedMinDistinct && 4*mixed >= 3*distinctN && total >= mixedMinRequests && newRate > mixedMinNewRate {
		return true
	}
	if collection {
		if shared >= sharedMinValues && distinctN >= sharedMinDistinct && total >= sharedMinRequests && newRate > collectionMinNewRate {
			return true
		}
		return distinctN >= collectionMinDistinct && total >= collectionMinRequests && newRate > collectionMinNewRate
	}
	return distinctN >= neutralMinDistinct && total >= neutralMinRequests && newRate > neutralMinNewRate
}

// sharedChildren returns the largest number of n's word children that have
// one literal child segment in common.
func sharedChildren(n *node) int64 {
	counts := map[string]int64{}
	best := int64(0)
	for _, c := range n.lits {
		if c.typedLit {
			continue
		}
		for v := range c.lits {
			counts[v]++
			best = max(best, counts[v])
		}
	}
	return best
}

// isCollection reports whether n is a plural word: its children are
// probably ids.
func isCollection(n *node) bool {
	if n.isParam || n.seg == "" || n.kind != kindWord {
		return false
	}
	return isPlural(n.seg)
}

// isPlural reports whether the last word of w looks like an English plural.
func isPlural(w string) bool {
	if i := strings.LastIndexAny(w, "-_."); i >= 0 {
		w = w[i+1:]
	}
	w = strings.ToLower(w)
	if len(w) < 3 || w[len(w)-1] != 's' {
		return false
	}
	return !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is")
}

// vary turns n into a parameter position. Words that stand out (many more
// requests than a typical value, and no sub-paths where the parameter has
// some) stay literal siblings; other words wait in pending, in case
// they stand out later; the rest is folded into the parameter.
func (l *learner) vary(n *node) {
	n.variable = true
	n.absorbed = new(bloom)
	p := l.ensureParam(n)
	var keys []string
	var counts []int64
	for _, v := range slices.Sorted(maps.Keys(n.lits)) {
		if c := n.lits[v]; !c.typedLit {
			keys = append(keys, v)
			counts = append(counts, c.count)
		}
	}
	slices.Sort(counts)
	median := 1.0
	if len(counts) > 0 {
		median = max(median, float64(counts[len(counts)/2]))
	}
	threshold := max(promoteMin, promoteFactor*median)
	var outliers, waiting []*node
	for _, v := range keys {
		c := n.lits[v]
		switch {
		case float64(c.count) >= threshold:
			outliers = append(outliers, c)
		case c.kind.pendingEligible():
			waiting = append(waiting, c)
		default:
			l.absorb(n, c)
		}
	}
	slices.SortFunc(waiting, func(a, b *node) int {
		return cmp.Or(cmp.Compare(b.count, a.count), cmp.Compare(a.seq, b.seq))
	})
	for i, c := range waiting {
		if i >= pendingCap {
			l.absorb(n, c)
			continue
		}
		delete(n.lits, c.seg)
		if n.pending == nil {
			n.pending = map[string]*node{}
		}
		c.mark = n.count
		n.pending[c.seg] = c
	}
	for _, c := range outliers {
		if c.kind.pendingEligible() && n.promoted < maxPromoted && !instanceLike(c, p) {
			n.promoted++
			continue
		}
		l.absorb(n, c)
	}
}

// instanceLike reports whether word c looks like one more value of
// parameter p rather than a name beside it. A leaf is never one: literal
// siblings of a parameter are mostly leaves ("/articles/feed",
// "/customers/search"). With sub-paths, c is an instance when p has
// sub-paths too and c either shares some of their names
// ("/repos/torvalds/linux/issues" beside "/repos/{owner}/{repo}/issues") or
// has too few requests (under literalEvidence) for their absence to mean
// anything. Only a busy word whose sub-paths are its own ("/blog/feed",
// "/blog/{slug}" beside "/{org}/{repo}") stays a literal.
func instanceLike(c, p *node) bool {
	if p == nil || !c.hasChildren() || !p.hasChildren() {
		return false
	}
	if c.count < literalEvidence {
		return true
	}
	tokens := map[string]bool{}
	collectTokens(p, instanceDepth, tokens)
	return hasToken(c, instanceDepth, tokens)
}

// maxTokens bounds the work of one instanceLike call.
const maxTokens = 4096

// collectTokens adds the literal segments of n's subtree, depth levels
// deep, to into. Pending words are values as likely as names, so they do
// not count.
func collectTokens(n *node, depth int, into map[string]bool) {
	if depth == 0 || len(into) >= maxTokens {
		return
	}
	for v, c := range n.lits {
		into[v] = true
		collectTokens(c, depth-1, into)
	}
	if n.param != nil {
		collectTokens(n.param, depth-1, into)
	}
}

// hasToken reports whether n's subtree, depth levels deep, has a literal
// segment in tokens.
func hasToken(n *node, depth int, tokens map[string]bool) bool {
	if depth == 0 {
		return false
	}
	for v, c := range n.lits {
		if tokens[v] || hasToken(c, depth-1, tokens) {
			return true
		}
	}
	return n.param != nil && hasToken(n.param, depth-1, tokens)
}

// merge folds src into dst: counts, parameter bookkeeping, children (by
// value, following dst's rules) and endpoint stats. src is dropped.
func (l *learner) merge(dst, src *node) {
	if src.isParam && dst.isParam {
		switch {
		case src.multi:
			dst.multi, dst.first = true, ""
		case src.first != "":
			dst.noteValue(src.first)
		}
		dst.values.merge(&src.values)
		for k := range dst.kinds {
			dst.kinds[k] += src.kinds[k]
		}
	}
	dst.count += src.count
	if src.variable && !dst.variable {
		l.vary(dst)
	}
	if src.absorbed != nil && dst.absorbed != nil {
		dst.absorbed.union(src.absorbed)
	}
	dst.promoted = min(dst.promoted+src.promoted, maxPromoted)
	if src.param != nil {
		if dst.param == nil {
			dst.param = src.param
		} else {
			l.merge(dst.param, src.param)
		}
		// Values src folded into its parameter must keep going there: a
		// word dst still holds apart, or a typed literal dst made of a
		// single value, may be one of them.
		if src.absorbed != nil {
			for _, m := range []map[string]*node{dst.lits, dst.pending} {
				for _, v := range slices.Sorted(maps.Keys(m)) {
					if c := m[v]; c != nil && !c.typedLit && src.absorbed.has(hashString(v)) {
						l.absorb(dst, c)
					}
				}
			}
		}
		if dst.typedLits > 0 {
			l.mergeBackTyped(dst)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(src.lits)) {
		l.adopt(dst, src.lits[v])
	}
	for _, v := range slices.Sorted(maps.Keys(src.pending)) {
		l.adopt(dst, src.pending[v])
	}
	for _, e := range src.ends {
		dst.ensureEndpoint(e.method).merge(&e.stats, l.maxExamples)
	}
	l.nodes--
}

// adopt gives position n the child c (with its subtree and counts), as if
// c's requests had arrived at n.
func (l *learner) adopt(n, c *node) {
	v := c.seg
	if x := n.lits[v]; x != nil {
		l.merge(x, c)
		return
	}
	if x := n.pending[v]; x != nil {
		l.merge(x, c)
		return
	}
	switch {
	case c.typedLit:
		if n.param != nil {
			// n's parameter may hold requests with this very value.
			l.absorb(n, c)
			return
		}
		if n.lits == nil {
			n.lits = map[string]*node{}
		}
		n.lits[v] = c
		n.typedLits++
	case n.variable:
		if c.kind.pendingEligible() && !n.absorbed.has(hashString(v)) && len(n.pending) < pendingCap {
			if n.pending == nil {
				n.pending = map[string]*node{}
			}
			c.mark = n.count
			n.pending[v] = c
			return
		}
		l.absorb(n, c)
	default:
		if n.lits == nil {
			n.lits = map[string]*node{}
		}
		n.lits[v] = c
		l.maybeVary(n)
	}
}

// find walks segs from root without changing anything and appends the
// nodes on the way (root first) to path. It returns nil when the path
// leads nowhere known: a request there would start something new.
func find(root *node, segs []string, path []*node) []*node {
	n := root
	path = append(path, n)
	for _, s := range segs {
		if c := n.lits[s]; c != nil {
			n = c
		} else if c := n.pending[s]; c != nil {
			n = c
		} else if n.param != nil && (n.variable || classify(s).typed()) {
			n = n.param
		} else {
			return nil
		}
		path = append(path, n)
	}
	return path
}
