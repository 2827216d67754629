package evaluation

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/record"
)

// Route is one operation of an API: a method and a path template.
type Route struct{ Method, Template string }

// API is a route list read from a testdata file.
type API struct {
	// Name is the file name without ".txt": "github", "stripe", …
	Name string
	// Source is the first line of the file's header comment.
	Source string
	// Host is the host the generated requests go to (the "# host:" line).
	Host   string
	Routes []Route
}

// ErrRouteList is wrapped by errors about a malformed route list.
var ErrRouteList = errors.New("malformed route list")

// ParseRoutes reads a route list: "METHOD /path" per line, '#' comments,
// blank lines ignored, and a "# host: name" line giving the host. It
// returns an error wrapping ErrRouteList, with the line number, for a line
// that is not a route or a list without host or routes.
func ParseRoutes(name string, r io.Reader) (API, error) {
	api := API{Name: name}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if c, ok := strings.CutPrefix(text, "#"); ok {
			c = strings.TrimSpace(c)
			if h, ok := strings.CutPrefix(c, "host:"); ok {
				api.Host = strings.TrimSpace(h)
			} else if api.Source == "" && len(api.Routes) == 0 {
				api.Source = c
			}
			continue
		}
		method, path, ok := strings.Cut(text, " ")
		path = strings.TrimSpace(path)
		if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#") {
			return API{}, fmt.Errorf("%w: %s line %d: want \"METHOD /path\", got %q", ErrRouteList, name, line, text)
		}
		api.Routes = append(api.Routes, Route{method, path})
	}
	if err := sc.Err(); err != nil {
		return API{}, fmt.Errorf("reading route list %s: %w", name, err)
	}
	if api.Host == "" || len(api.Routes) == 0 {
		return API{}, fmt.Errorf("%w: %s has no \"# host:\" line or no routes", ErrRouteList, name)
	}
	return api, nil
}

// LoadDir reads every *.txt route list in dir, sorted by name.
func LoadDir(dir string) ([]API, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("listing route lists: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *.txt in %s", ErrRouteList, dir)
	}
	slices.Sort(files)
	var apis []API
	for _, f := range files {
		api, err := loadFile(f)
		if err != nil {
			return nil, err
		}
		apis = append(apis, api)
	}
	return apis, nil
}

func loadFile(path string) (API, error) {
	f, err := os.Open(path)
	if err != nil {
		return API{}, fmt.Errorf("opening route list: %w", err)
	}
	defer f.Close()
	return ParseRoutes(strings.TrimSuffix(filepath.Base(path), ".txt"), f)
}

// Options shape the generated traffic.
type Options struct {
	Seed uint64
	// MinPerRoute and MaxPerRoute bound the requests per route; counts are
	// skewed towards the minimum (most routes are rarely used).
	MinPerRoute, MaxPerRoute int
	// Skew is the exponent applied to the uniform draws of parameter values
	// from their pools: 1 is uniform, larger values make a few values
	// popular.
	Skew float64
}

// DefaultOptions are the options of the published figures.
func DefaultOptions() Options {
	return Options{Seed: 1, MinPerRoute: 3, MaxPerRoute: 60, Skew: 2}
}

// Generate returns deterministic requests to api's routes, without
// templates, shuffled as live traffic would interleave them.
func Generate(api API, opt Options) []record.Record {
	r := rand.New(rand.NewPCG(opt.Seed, hashName(api.Name)))
	vals := newValues(api.Name, opt.Seed, opt.Skew)
	span := max(opt.MaxPerRoute-opt.MinPerRoute, 0)
	var recs []record.Record
	for _, rt := range api.Routes {
		n := opt.MinPerRoute + int(float64(span+1)*math.Pow(r.Float64(), 2.5))
		for range min(n, opt.MinPerRoute+span) {
			recs = append(recs, record.Record{
				Method:        rt.Method,
				Host:          api.Host,
				Path:          vals.fill(r, rt.Template),
				Status:        status(r, rt.Method),
				LatencyMs:     5 + int64(r.ExpFloat64()*80),
				ResponseBytes: 150 + int64(r.ExpFloat64()*4000),
				SourceIP:      fmt.Sprintf("198.51.100.%d", r.IntN(250)+1),
				Stage:         "prod",
			})
		}
	}
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	t := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).UnixMilli()
	for i := range recs {
		t += int64(r.IntN(2000))
		recs[i].Time = t
		recs[i].ID = fmt.Sprintf("%s-%06d", api.Name, i)
	}
	return recs
}

func hashName(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := range len(s) {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// status draws a response status: mostly success, with the client and
// server errors a public API sees.
func status(r *rand.Rand, method string) int {
	switch x := r.IntN(1000); {
	case x < 25:
		return 404
	case x < 35:
		return 401
	case x < 40:
		return 403
	case x < 50:
		return 422
	case x < 55:
		return 429
	case x < 60:
		return 500
	case method == "POST":
		return 201
	case method == "DELETE":
		return 204
	default:
		return 200
	}
}

// Result is the score of discovery on one API.
type Result struct {
	API                         string
	Routes, Requests, Endpoints int
	TruePositives               int
	Precision, Recall, F1       float64
	// Missing are routes not found; Extra endpoints that are no route.
	// Both as "METHOD template" with parameters normalised to "{}".
	Missing, Extra []string
	Elapsed        time.Duration
}

// Run generates api's traffic, discovers its endpoints with cfg and scores
// them against the route list.
func Run(api API, opt Options, cfg discovery.Config) Result {
	recs := Generate(api, opt)
	start := time.Now()
	d := discovery.New(cfg)
	d.Add(recs...)
	eps := d.Endpoints()
	elapsed := time.Since(start)
	res := Score(api, eps)
	res.Requests = len(recs)
	res.Elapsed = elapsed
	return res
}

// Score compares the endpoints found on api's host with its routes, as
// (method, template) pairs with parameter names normalised.
func Score(api API, eps []discovery.Endpoint) Result {
	truth := map[string]bool{}
	for _, rt := range api.Routes {
		truth[rt.Method+" "+discovery.NormalizeTemplate(rt.Template)] = true
	}
	found := map[string]bool{}
	for _, e := range eps {
		if e.Host == api.Host {
			found[e.Method+" "+discovery.NormalizeTemplate(e.Template)] = true
		}
	}
	res := Result{API: api.Name, Routes: len(truth), Endpoints: len(found)}
	for k := range found {
		if truth[k] {
			res.TruePositives++
		} else {
			res.Extra = append(res.Extra, k)
		}
	}
	for k := range truth {
		if !found[k] {
			res.Missing = append(res.Missing, k)
		}
	}
	slices.Sort(res.Missing)
	slices.Sort(res.Extra)
	if len(found) > 0 {
		res.Precision = float64(res.TruePositives) / float64(len(found))
	}
	res.Recall = float64(res.TruePositives) / float64(len(truth))
	if res.Precision+res.Recall > 0 {
		res.F1 = 2 * res.Precision * res.Recall / (res.Precision + res.Recall)
	}
	return res
}

// WriteTable writes results as an aligned table, then, when verbose, the
// missing and extra endpoints of each API.
func WriteTable(w io.Writer, results []Result, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "API\troutes\trequests\tendpoints\tprecision\trecall\tF1\ttime\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%s\t\n", r.API, r.Routes, r.Requests, r.Endpoints,
			r.Precision, r.Recall, r.F1, r.Elapsed.Round(100*time.Microsecond))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	if !verbose {
		return nil
	}
	for _, r := range slices.SortedFunc(slices.Values(results), func(a, b Result) int { return cmp.Compare(a.API, b.API) }) {
		for _, m := range r.Missing {
			fmt.Fprintf(w, "%s missing: %s\n", r.API, m)
		}
		for _, e := range r.Extra {
			fmt.Fprintf(w, "%s extra:   %s\n", r.API, e)
		}
	}
	return nil
}

// SeedSummary is the spread of F1 for one API over several seeds.
type SeedSummary struct {
	API                      string
	Seeds                    int
	MeanF1, MinF1            float64
	MeanPrecision            float64
	MeanRecall               float64
	BelowTarget              int // seeds with F1 under 0.95
	WorstSeed                uint64
	WorstMissing, WorstExtra []string
}

// Sweep runs every API with n seeds from opt.Seed on.
func Sweep(apis []API, opt Options, n int, cfg discovery.Config) []SeedSummary {
	var out []SeedSummary
	for _, api := range apis {
		s := SeedSummary{API: api.Name, Seeds: n, MinF1: 2}
		for i := range n {
			o := opt
			o.Seed = opt.Seed + uint64(i)
			r := Run(api, o, cfg)
			s.MeanF1 += r.F1 / float64(n)
			s.MeanPrecision += r.Precision / float64(n)
			s.MeanRecall += r.Recall / float64(n)
			if r.F1 < 0.95 {
				s.BelowTarget++
			}
			if r.F1 < s.MinF1 {
				s.MinF1, s.WorstSeed, s.WorstMissing, s.WorstExtra = r.F1, o.Seed, r.Missing, r.Extra
			}
		}
		out = append(out, s)
	}
	return out
}

// WriteSeedTable writes sweep summaries as an aligned table.
func WriteSeedTable(w io.Writer, sums []SeedSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "API\tseeds\tmean P\tmean R\tmean F1\tmin F1\tworst seed\tF1<0.95\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t\n", s.API, s.Seeds, s.MeanPrecision, s.MeanRecall,
			s.MeanF1, s.MinF1, s.WorstSeed, s.BelowTarget)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}
