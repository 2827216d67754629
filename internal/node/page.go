package node

import (
	"errors"
	"net/http"
	"slices"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/web"
)

// pageLimit is how many endpoints the page lists at once by default.
const pageLimit = 200

// standardMethods always appear in the page's method menu.
var standardMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func (n *Node) pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", web.ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

func (n *Node) handleIndexPage(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if q.Limit == 0 {
		q.Limit = pageLimit
	}
	eps := n.endpoints()
	page, err := inventory.Select(eps, q)
	if err != nil {
		if errors.Is(err, inventory.ErrInvalidQuery) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n.internalError(w, r, err)
		return
	}
	if q.Limit == pageLimit {
		q.Limit = 0 // keep the default out of the page's links
	}
	view := web.IndexView{
		Query: q, Page: page, Records: n.recordCount(r), Rebuilding: n.rebuilding.Load(), Version: n.cfg.Version,
		Methods: slices.Clone(standardMethods),
	}
	for _, e := range eps {
		view.Apps = appendUnique(view.Apps, e.App)
		if q.App == "" || e.App == q.App {
			view.Hosts = appendUnique(view.Hosts, e.Host)
		}
		view.Methods = appendUnique(view.Methods, e.Method)
	}
	slices.Sort(view.Apps)
	slices.Sort(view.Hosts)
	n.pageHeaders(w)
	if err := n.pages.Index(w, view); err != nil {
		n.internalError(w, r, err)
	}
}

func (n *Node) handleEndpointPage(w http.ResponseWriter, r *http.Request) {
	d, err := n.detail(r, r.PathValue("id"), n.cfg.RecentLimit)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
		http.Error(w, "no endpoint with this id", http.StatusNotFound)
		return
	case err != nil:
		n.internalError(w, r, err)
		return
	}
	n.pageHeaders(w)
	view := web.DetailView{Endpoint: d, Records: n.recordCount(r), Rebuilding: n.rebuilding.Load(), Version: n.cfg.Version}
	if err := n.pages.Detail(w, view); err != nil {
		n.internalError(w, r, err)
	}
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
