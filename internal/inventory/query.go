package inventory

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paging bounds of Query.Limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Sort orders of a Query.
const (
	SortRequests = "requests"  // most requested first
	SortLastSeen = "last_seen" // most recently seen first
	SortTemplate = "template"  // by template, then host and method
)

// Query selects, orders and pages endpoints. The zero Query selects every
// endpoint, most requested first, DefaultLimit at a time.
type Query struct {
	App, Host string
	// Methods keeps endpoints with any of these methods (upper case).
	Methods []string
	// Prefix keeps endpoints whose template starts with it.
	Prefix string
	// Search keeps endpoints whose template or host contains it, ignoring case.
	Search string
	// StatusClasses keeps endpoints that answered with any of these classes
	// ("2xx", …); "error" stands for 4xx and 5xx.
	StatusClasses []string
	// Sort is SortRequests (the default), SortLastSeen or SortTemplate;
	// Reverse inverts it.
	Sort    string
	Reverse bool
	// Limit is the page size, at most MaxLimit; 0 means DefaultLimit.
	Limit int
	// Offset skips that many endpoints; Cursor (from Page.NextCursor)
	// continues after the last endpoint of a page. At most one is set.
	Offset int
	Cursor string
}

// Page is one page of a Query's result, the body of GET /v1/inventory.
type Page struct {
	// Total counts the endpoints that match the filters, on every page.
	Total     int        `json:"total"`
	Offset    int        `json:"offset"`
	Limit     int        `json:"limit"`
	Endpoints []Endpoint `json:"endpoints"`
	// NextCursor continues after this page; empty on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ParseQuery reads a Query from URL parameters: app, host, method (comma
// separated), prefix, q, status (comma separated: 2xx, 4xx, error, …), sort
// (requests, last_seen, template; a leading '-' reverses), limit, offset and
// cursor. Unknown parameters are ignored. It returns an error wrapping
// ErrInvalidQuery naming the first bad parameter.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{
		App:    v.Get("app"),
		Host:   v.Get("host"),
		Prefix: v.Get("prefix"),
		Search: strings.TrimSpace(v.Get("q")),
		Cursor: v.Get("cursor"),
	}
	for m := range strings.SplitSeq(v.Get("method"), ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			q.Methods = append(q.Methods, m)
		}
	}
	for s := range strings.SplitSeq(v.Get("status"), ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "":
			continue
		case s == "error":
		case len(s) == 1 && s[0] >= '1' && s[0] <= '5':
			s += "xx"
		case len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1:] == "xx":
		default:
			return Query{}, fmt.Errorf("%w: status %q: want 1xx to 5xx or error", ErrInvalidQuery, s)
		}
		q.StatusClasses = append(q.StatusClasses, s)
	}
	sort := v.Get("sort")
	if rest, ok := strings.CutPrefix(sort, "-"); ok {
		sort, q.Reverse = rest, true
	}
	switch sort {
	case "", SortRequests, SortLastSeen, SortTemplate:
		q.Sort = sort
	default:
		return Query{}, fmt.Errorf("%w: sort %q: want requests, last_seen or template", ErrInvalidQuery, sort)
	}
	var err error
	if q.Limit, err = intParam(v, "limit", 0, MaxLimit); err != nil {
		return Query{}, err
	}
	if q.Offset, err = intParam(v, "offset", 0, 1<<31-1); err != nil {
		return Query{}, err
	}
	if q.Offset > 0 && q.Cursor != "" {
		return Query{}, fmt.Errorf("%w: offset and cursor are exclusive", ErrInvalidQuery)
	}
	return q, nil
}

func intParam(v url.Values, name string, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s %q: want an integer from %d to %d", ErrInvalidQuery, name, s, lo, hi)
	}
	return n, nil
}

// Values returns q as URL parameters, the inverse of ParseQuery; paging
// parameters are left out.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("app", q.App)
	set("host", q.Host)
	set("method", strings.Join(q.Methods, ","))
	set("prefix", q.Prefix)
	set("q", q.Search)
	set("status", strings.Join(q.StatusClasses, ","))
	sort := q.Sort
	if q.Reverse {
		sort = "-" + cmp.Or(sort, SortRequests)
	}
	set("sort", sort)
	return v
}

// Match reports whether e passes q's filters.
func (q *Query) Match(e *Endpoint) bool {
	if q.App != "" && e.App != q.App || q.Host != "" && e.Host != q.Host {
		return false
	}
	if len(q.Methods) > 0 && !slices.Contains(q.Methods, e.Method) {
		return false
	}
	if !strings.HasPrefix(e.Template, q.Prefix) {
		return false
	}
	if q.Search != "" && !containsFold(e.Template, q.Search) && !containsFold(e.Host, q.Search) {
		return false
	}
	if len(q.StatusClasses) == 0 {
		return true
	}
	for _, c := range q.StatusClasses {
		if c == "error" && ErrorCount(e.StatusClasses) > 0 || e.StatusClasses[c] > 0 {
			return true
		}
	}
	return false
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Select returns the page of eps that q asks for. eps is not modified. It
// returns an error wrapping ErrInvalidQuery when q's cursor is malformed or
// belongs to another sort order.
func Select(eps []Endpoint, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var after *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		if c.Sort != cmp.Or(q.Sort, SortRequests) || c.Reverse != q.Reverse {
			return Page{}, fmt.Errorf("%w: cursor belongs to another sort order", ErrInvalidQuery)
		}
		after = &c
	}
	matched := make([]*Endpoint, 0, len(eps))
	for i := range eps {
		if q.Match(&eps[i]) {
			matched = append(matched, &eps[i])
		}
	}
	order := orderFunc(q.Sort, q.Reverse)
	slices.SortFunc(matched, func(a, b *Endpoint) int { return order(keyOf(a), keyOf(b)) })

	start := min(q.Offset, len(matched))
	if after != nil {
		start, _ = slices.BinarySearchFunc(matched, after.Key, func(e *Endpoint, k sortKey) int {
			if order(keyOf(e), k) <= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+limit, len(matched))
	p := Page{Total: len(matched), Offset: start, Limit: limit, Endpoints: make([]Endpoint, 0, end-start)}
	for _, e := range matched[start:end] {
		p.Endpoints = append(p.Endpoints, *e)
	}
	if end < len(matched) && end > start {
		next, err := encodeCursor(cursor{Sort: cmp.Or(q.Sort, SortRequests), Reverse: q.Reverse, Key: keyOf(matched[end-1])})
		if err != nil {
			return Page{}, err
		}
		p.NextCursor = next
	}
	return p, nil
}

// sortKey is what the orders compare; ID last makes every order total, so
// a cursor names one position exactly.
type sortKey struct {
	Requests int64  `json:"r,omitempty"`
	LastSeen int64  `json:"l,omitempty"`
	Template string `json:"t,omitempty"`
	Host     string `json:"h,omitempty"`
	Method   string `json:"m,omitempty"`
	ID       string `json:"i"`
}

func keyOf(e *Endpoint) sortKey {
	k := sortKey{Requests: e.Requests, Template: e.Template, Host: e.Host, Method: e.Method, ID: e.ID}
	if !e.LastSeen.IsZero() {
		k.LastSeen = e.LastSeen.UnixMilli()
	}
	return k
}

func orderFunc(sort string, reverse bool) func(a, b sortKey) int {
	var primary func(a, b sortKey) int
	switch sort {
	case SortLastSeen:
		primary = func(a, b sortKey) int { return cmp.Compare(b.LastSeen, a.LastSeen) }
	case SortTemplate:
		primary = func(a, b sortKey) int { return cmp.Compare(a.Template, b.Template) }
	default:
		primary = func(a, b sortKey) int { return cmp.Compare(b.Requests, a.Requests) }
	}
	return func(a, b sortKey) int {
		c := cmp.Or(primary(a, b), cmp.Compare(a.Template, b.Template), cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Method, b.Method), cmp.Compare(a.ID, b.ID))
		if reverse {
			return -c
		}
		return c
	}
}

type cursor struct {
	Sort    string  `json:"s"`
	Reverse bool    `json:"v,omitempty"`
	Key     sortKey `json:"k"`
}

func encodeCursor(c cursor) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return cursor{}, fmt.Errorf("%w: malformed cursor", ErrInvalidQuery)
	}
	return c, nil
}
