package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gwtap/gwtap/internal/inventory"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is the policy the node sends with every page: no
// inline script or style, nothing from another origin.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// StatsPath is the JSON endpoint the page polls for the live record count.
const StatsPath = "/v1/stats"

// IndexView is what the inventory page shows.
type IndexView struct {
	Query inventory.Query
	Page  inventory.Page
	// Apps, Hosts and Methods fill the filter menus.
	Apps, Hosts, Methods []string
	// Records is the number of records the node holds.
	Records int64
	// Rebuilding is true while the inventory is being rebuilt from the store.
	Rebuilding bool
	Version    string
}

// DetailView is what an endpoint's page shows.
type DetailView struct {
	Endpoint   inventory.Detail
	Records    int64
	Rebuilding bool
	Version    string
}

// StatsPath returns the JSON endpoint the page polls.
func (IndexView) StatsPath() string { return StatsPath }

// StatsPath returns the JSON endpoint the page polls.
func (DetailView) StatsPath() string { return StatsPath }

// Filtered reports whether any filter is set.
func (v IndexView) Filtered() bool {
	q := v.Query
	return q.App != "" || q.Host != "" || len(q.Methods) > 0 || q.Prefix != "" || q.Search != "" || len(q.StatusClasses) > 0
}

// MethodSelected reports whether m is the method filter.
func (v IndexView) MethodSelected(m string) bool {
	return len(v.Query.Methods) == 1 && v.Query.Methods[0] == m
}

// StatusOptions are the choices of the status filter.
func (IndexView) StatusOptions() []string {
	return []string{"2xx", "3xx", "4xx", "5xx", "error"}
}

// StatusSelected reports whether c is the status filter.
func (v IndexView) StatusSelected(c string) bool {
	return len(v.Query.StatusClasses) == 1 && v.Query.StatusClasses[0] == c
}

// SortOption is one choice of the sort menu.
type SortOption struct {
	Value, Label string
	Selected     bool
}

// SortOptions are the choices of the sort menu.
func (v IndexView) SortOptions() []SortOption {
	current := v.Query.Sort
	if current == "" {
		current = inventory.SortRequests
	}
	if v.Query.Reverse {
		current = "-" + current
	}
	opts := []SortOption{
		{inventory.SortRequests, "most requests", false},
		{inventory.SortLastSeen, "last seen", false},
		{inventory.SortTemplate, "template", false},
		{"-" + inventory.SortRequests, "fewest requests", false},
	}
	for i := range opts {
		opts[i].Selected = opts[i].Value == current
	}
	return opts
}

// PrevURL is the previous page, or "" on the first.
func (v IndexView) PrevURL() string {
	if v.Page.Offset == 0 {
		return ""
	}
	return pageURL(v.Query, max(v.Page.Offset-v.Page.Limit, 0))
}

// NextURL is the next page, or "" on the last.
func (v IndexView) NextURL() string {
	if next := v.Page.Offset + len(v.Page.Endpoints); next < v.Page.Total {
		return pageURL(v.Query, next)
	}
	return ""
}

// Renderer renders the pages. It is safe for concurrent use.
type Renderer struct {
	index, detail *template.Template
}

// New parses the embedded templates. It fails only if they are broken,
// which the package's tests rule out.
func New() (*Renderer, error) {
	funcs := template.FuncMap{
		"when":     formatTime,
		"ms":       formatMs,
		"bytes":    formatBytes,
		"count":    formatCount,
		"errors":   inventory.ErrorCount,
		"pageURL":  pageURL,
		"openapi":  openAPIURL,
		"endpoint": endpointURL,
		"classOf":  statusClass,
	}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parsing template %s: %w", name, err)
		}
		return t, nil
	}
	var r Renderer
	var err error
	if r.index, err = parse("index.html"); err != nil {
		return nil, err
	}
	if r.detail, err = parse("detail.html"); err != nil {
		return nil, err
	}
	return &r, nil
}

// Index writes the inventory page. Nothing is written if rendering fails.
func (r *Renderer) Index(w io.Writer, v IndexView) error {
	return render(w, r.index, v)
}

// Detail writes an endpoint's page. Nothing is written if rendering fails.
func (r *Renderer) Detail(w io.Writer, v DetailView) error {
	return render(w, r.detail, v)
}

func render(w io.Writer, t *template.Template, data any) error {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return fmt.Errorf("rendering %s: %w", t.Name(), err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing page: %w", err)
	}
	return nil
}

// Static returns a handler for the embedded assets, to mount at /static/.
func Static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		// fs.Sub fails only for an invalid name; "static" is valid.
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func formatMs(v float64) string {
	switch {
	case v <= 0 || math.IsNaN(v):
		return "—"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " ms"
	}
}

func formatBytes(v float64) string {
	switch {
	case v <= 0 || math.IsNaN(v):
		return "—"
	case v < 1024:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " B"
	case v < 1024*1024:
		return strconv.FormatFloat(v/1024, 'f', 1, 64) + " KiB"
	default:
		return strconv.FormatFloat(v/1024/1024, 'f', 1, 64) + " MiB"
	}
}

// formatCount writes n with thin thousands separators.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// statusClass returns a CSS class for a status code.
func statusClass(status int) string {
	switch {
	case status >= 500:
		return "s5"
	case status >= 400:
		return "s4"
	case status >= 300:
		return "s3"
	case status >= 200:
		return "s2"
	}
	return ""
}

// pageURL is the inventory page for q at offset.
func pageURL(q inventory.Query, offset int) string {
	v := q.Values()
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// openAPIURL is the OpenAPI export of app and host.
func openAPIURL(app, host string) string {
	v := url.Values{}
	if app != "" {
		v.Set("app", app)
	}
	if host != "" {
		v.Set("host", host)
	}
	if len(v) == 0 {
		return "/v1/openapi.json"
	}
	return "/v1/openapi.json?" + v.Encode()
}

// endpointURL is the detail page of the endpoint with id.
func endpointURL(id string) string {
	return "/endpoints/" + url.PathEscape(id)
}
