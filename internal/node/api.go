package node

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
)

// Stats is the body of GET /v1/stats: what the page shows live.
type Stats struct {
	// Records is how many records the store holds.
	Records int64 `json:"records"`
	// Since the node started: batches answered 200, records in them, and
	// how those records went.
	Batches    int64 `json:"batches"`
	Received   int64 `json:"received"`
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
	// Endpoints is how many endpoints the inventory lists.
	Endpoints int `json:"endpoints"`
	// Rebuilding is true while stored records are replayed into the
	// inventory; Rebuilt counts those replayed so far.
	Rebuilding bool           `json:"rebuilding"`
	Rebuilt    int64          `json:"rebuilt"`
	Started    time.Time      `json:"started"`
	Discovery  DiscoveryStats `json:"discovery"`
}

// DiscoveryStats is what the discoverer has seen (discovery.Stats).
type DiscoveryStats struct {
	Records          int64 `json:"records"`
	Counted          int64 `json:"counted"`
	Attached         int64 `json:"attached"`
	SkippedMethod    int64 `json:"skipped_method"`
	SkippedLoopback  int64 `json:"skipped_loopback"`
	SkippedStatus    int64 `json:"skipped_status"`
	SkippedInvalid   int64 `json:"skipped_invalid"`
	Endpoints        int   `json:"endpoints"`
	Candidates       int   `json:"candidates"`
	TemplateTreeSize int   `json:"template_tree_size"`
}

func (n *Node) stats(r *http.Request) Stats {
	st := n.disc.Stats()
	return Stats{
		Records:    n.recordCount(r),
		Batches:    n.counters.batches.Load(),
		Received:   n.counters.received.Load(),
		Accepted:   n.counters.accepted.Load(),
		Duplicates: n.counters.duplicates.Load(),
		Rejected:   n.counters.rejected.Load(),
		Endpoints:  st.Endpoints,
		Rebuilding: n.rebuilding.Load(),
		Rebuilt:    n.rebuilt.Load(),
		Started:    n.started.UTC(),
		Discovery: DiscoveryStats{
			Records: st.Records, Counted: st.Counted, Attached: st.Attached,
			SkippedMethod: st.Skipped.Method, SkippedLoopback: st.Skipped.Loopback, SkippedStatus: st.Skipped.Status,
			SkippedInvalid: st.Skipped.Invalid, Endpoints: st.Endpoints, Candidates: st.Candidates, TemplateTreeSize: st.Nodes,
		},
	}
}

func (n *Node) recordCount(r *http.Request) int64 {
	c, err := n.store.Count(r.Context())
	if err != nil {
		n.log.Warn("counting records", "error", err)
		return 0
	}
	return c
}

func (n *Node) handleStats(w http.ResponseWriter, r *http.Request) {
	n.writeJSON(w, http.StatusOK, n.stats(r))
}

// handleHealth answers the liveness and readiness probe: 200 "ok" while the
// node takes records, 503 "degraded" while it shuts down or after the store
// failed to take a batch (until one succeeds).
func (n *Node) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := protocol.Health{Status: "ok", Version: n.cfg.Version, Records: n.recordCount(r)}
	if n.draining.Load() || n.storeErr.Load() {
		h.Status = "degraded"
		w.Header().Set(protocol.HeaderRetryAfter, retryStopping)
		n.writeJSON(w, http.StatusServiceUnavailable, h)
		return
	}
	n.writeJSON(w, http.StatusOK, h)
}

// endpoints returns the inventory in its API form.
func (n *Node) endpoints() []inventory.Endpoint {
	des := n.disc.Endpoints()
	out := make([]inventory.Endpoint, len(des))
	for i := range des {
		out[i] = endpointFrom(&des[i])
	}
	return out
}

func endpointFrom(d *discovery.Endpoint) inventory.Endpoint {
	params := make([]inventory.Param, len(d.Params))
	for i, p := range d.Params {
		params[i] = inventory.Param{Name: p.Name, Index: p.Index, Type: p.Type}
	}
	return inventory.Endpoint{
		ID: d.ID, App: d.App, Host: d.Host, Method: d.Method, Template: d.Template, Source: d.Source,
		Params: params, Requests: d.Requests, Counted: d.Counted, StatusClasses: d.StatusClasses,
		Errors: inventory.ErrorCount(d.StatusClasses), LatencyP50: d.LatencyP50, LatencyP95: d.LatencyP95,
		LatencyP99: d.LatencyP99, ResponseBytesP50: d.ResponseBytesP50, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen,
		Stages: d.Stages, Clients: d.Clients, Examples: d.Examples,
	}
}

// parseQuery reads the inventory query of r; a malformed query string is
// an error too (url.URL.Query would drop the bad part silently).
func parseQuery(r *http.Request) (inventory.Query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return inventory.Query{}, fmt.Errorf("%w: malformed query string", inventory.ErrInvalidQuery)
	}
	return inventory.ParseQuery(v)
}

func (n *Node) handleInventory(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		n.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := inventory.Select(n.endpoints(), q)
	if err != nil {
		n.queryFailed(w, r, err)
		return
	}
	n.writeJSON(w, http.StatusOK, page)
}

func (n *Node) queryFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, inventory.ErrInvalidQuery) {
		n.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	n.internalError(w, r, err)
}

func (n *Node) handleEndpoint(w http.ResponseWriter, r *http.Request) {
	limit := n.cfg.RecentLimit
	if v := r.URL.Query().Get("recent"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 0 || l > 1000 {
			n.fail(w, http.StatusBadRequest, "recent must be an integer from 0 to 1000")
			return
		}
		limit = l
	}
	d, err := n.detail(r, r.PathValue("id"), limit)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		n.fail(w, http.StatusNotFound, "no endpoint with this id")
	case err != nil:
		n.internalError(w, r, err)
	default:
		n.writeJSON(w, http.StatusOK, d)
	}
}

// detail returns the endpoint with id and up to limit of its latest
// requests, or ErrNotFound.
func (n *Node) detail(r *http.Request, id string, limit int) (inventory.Detail, error) {
	des := n.disc.Endpoints()
	i := slices.IndexFunc(des, func(e discovery.Endpoint) bool { return e.ID == id })
	if i < 0 {
		return inventory.Detail{}, inventory.ErrNotFound
	}
	e := &des[i]
	d := inventory.Detail{Endpoint: endpointFrom(e), Recent: []inventory.Request{}}
	if limit == 0 {
		return d, nil
	}
	// Cheap checks first; the discoverer decides whether the path is this
	// endpoint's, as it did when the request was added.
	match := func(rec *record.Record) bool {
		return rec.AppID == e.App && strings.EqualFold(rec.Host, e.Host) && strings.EqualFold(rec.Method, e.Method) &&
			n.matches(rec, e.Key)
	}
	recs, err := n.store.Recent(r.Context(), match, limit, n.cfg.RecentScan)
	if err != nil {
		return inventory.Detail{}, err
	}
	for i := range recs {
		d.Recent = append(d.Recent, inventory.RequestFrom(&recs[i]))
	}
	return d, nil
}

func (n *Node) matches(rec *record.Record, k discovery.Key) bool {
	got, ok := n.disc.Match(*rec)
	return ok && got == k
}

func (n *Node) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		n.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	var eps []inventory.Endpoint
	hosts := map[string]bool{}
	for _, e := range n.endpoints() {
		if q.Match(&e) {
			eps = append(eps, e)
			hosts[e.Host] = true
		}
	}
	if len(hosts) > 1 {
		names := make([]string, 0, len(hosts))
		for h := range hosts {
			names = append(names, h)
		}
		slices.Sort(names)
		n.fail(w, http.StatusBadRequest, "the endpoints span several hosts; choose one with host= (one of: "+strings.Join(names, ", ")+")")
		return
	}
	title := "Observed API"
	if len(eps) > 0 {
		title = "Observed API of " + eps[0].Host
	}
	if q.App != "" {
		title += " (application " + q.App + ")"
	}
	doc, err := inventory.OpenAPI(eps, title)
	if err != nil {
		n.queryFailed(w, r, err)
		return
	}
	name := cmp.Or(q.Host, "api") + ".openapi.json"
	w.Header().Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(name))
	n.writeJSON(w, http.StatusOK, doc)
}
