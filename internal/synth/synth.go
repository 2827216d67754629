package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Route is one endpoint of the generated API.
type Route struct {
	Method   string
	Host     string
	Stage    string
	Template string // with {name} parameters
	Weight   int    // relative popularity
}

// Hosts of the generated API: a custom domain, a regional execute-api
// domain (whose paths carry the stage prefix) and an internal service.
const (
	ShopHost    = "api.shop.example.com"
	ExecuteHost = "k3x9q2w7ab.execute-api.eu-west-1.amazonaws.com"
	AdminHost   = "admin.shop.example.com"
)

// Routes is the generated API.
var Routes = []Route{
	{"GET", ShopHost, "prod", "/v1/products", 400},
	{"GET", ShopHost, "prod", "/v1/products/{productId}", 900},
	{"GET", ShopHost, "prod", "/v1/products/{productId}/reviews", 200},
	{"POST", ShopHost, "prod", "/v1/products/{productId}/reviews", 30},
	{"GET", ShopHost, "prod", "/v1/categories/{slug}", 250},
	{"GET", ShopHost, "prod", "/v1/categories/{slug}/products", 150},
	{"GET", ShopHost, "prod", "/v1/search", 350},
	{"GET", ShopHost, "prod", "/v1/users/me", 300},
	{"PATCH", ShopHost, "prod", "/v1/users/me", 20},
	{"GET", ShopHost, "prod", "/v1/users/{userId}", 120},
	{"GET", ShopHost, "prod", "/v1/users/{userId}/orders", 110},
	{"GET", ShopHost, "prod", "/v1/orders/{orderId}", 200},
	{"POST", ShopHost, "prod", "/v1/orders", 60},
	{"DELETE", ShopHost, "prod", "/v1/orders/{orderId}", 8},
	{"GET", ShopHost, "prod", "/v1/orders/{orderId}/items/{itemId}", 40},
	{"GET", ShopHost, "prod", "/v1/carts/{cartId}", 180},
	{"PUT", ShopHost, "prod", "/v1/carts/{cartId}/items/{sku}", 90},
	{"DELETE", ShopHost, "prod", "/v1/carts/{cartId}/items/{sku}", 25},
	{"POST", ShopHost, "prod", "/v1/checkout", 45},
	{"GET", ShopHost, "prod", "/v1/shipments/{trackingNumber}", 70},
	{"GET", ShopHost, "prod", "/v1/reports/daily/{date}", 15},
	{"GET", ShopHost, "prod", "/v1/newsletter/subscribers/{email}", 12},
	{"GET", ShopHost, "prod", "/health", 100},
	{"GET", ExecuteHost, "prod", "/v2/products/{productId}", 160},
	{"GET", ExecuteHost, "prod", "/v2/products/{productId}/stock", 90},
	{"POST", ExecuteHost, "prod", "/v2/inventory/adjustments", 20},
	{"GET", ExecuteHost, "staging", "/v2/products/{productId}", 30},
	{"GET", ExecuteHost, "staging", "/v2/feature-flags", 25},
	{"GET", AdminHost, "admin", "/webhooks/{webhookId}", 15},
	{"POST", AdminHost, "admin", "/webhooks/{webhookId}/deliveries/{deliveryId}/retry", 6},
	{"GET", AdminHost, "admin", "/audit/events", 18},
	{"GET", AdminHost, "admin", "/files/{fileHash}", 22},
}

var (
	// Category slugs are adjective-noun pairs: hundreds of values, as a real
	// shop has, so they read as a parameter rather than a fixed set.
	slugAdjectives = []string{"running", "trail", "kids", "home", "garden", "winter", "summer", "vintage", "organic", "smart", "outdoor", "travel", "classic", "wireless", "eco", "premium"}
	slugNouns      = []string{"shoes", "jackets", "toys", "office", "tools", "tents", "lamps", "mugs", "mats", "games", "parts", "bags", "watches", "chairs", "bottles", "socks"}
	userAgents     = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/131.0.0.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/131.0.0.0",
		"ShopApp/4.12.0 (Android 15; Pixel 8) okhttp/4.12.0",
		"python-requests/2.32.3",
		"curl/8.5.0",
	}
	errorMessages = map[int]string{
		400: "Invalid request body",
		401: "Unauthorized",
		403: "Forbidden",
		404: "Not Found",
		429: "Too Many Requests",
		500: "Internal server error",
		502: "Internal server error",
		504: "Endpoint request timed out",
	}
)

// Generator produces access-log lines. It is deterministic for a seed.
type Generator struct {
	r     *rand.Rand
	start time.Time
	n     int
	total int
	cum   []int
}

// New returns a Generator seeded with seed whose requests start at start.
func New(seed uint64, start time.Time) *Generator {
	g := &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: start}
	for _, rt := range Routes {
		g.total += rt.Weight
		g.cum = append(g.cum, g.total)
	}
	return g
}

// Request is one generated request, before formatting.
type Request struct {
	Route   Route
	Path    string // concrete path without stage prefix
	Status  int
	Time    time.Time
	ID      string
	Latency int
	Bytes   int
	IP      string
	Agent   string
}

// Next returns the next request.
func (g *Generator) Next() Request {
	pick := g.r.IntN(g.total)
	i := 0
	for g.cum[i] <= pick {
		i++
	}
	rt := Routes[i]
	req := Request{
		Route:   rt,
		Path:    g.fill(rt.Template),
		Status:  g.status(rt.Method),
		Time:    g.start.Add(time.Duration(g.n) * 37 * time.Millisecond),
		ID:      g.uuid(),
		Latency: 5 + int(g.r.ExpFloat64()*60),
		Bytes:   g.r.IntN(8000) + 40,
		IP:      fmt.Sprintf("203.0.113.%d", g.r.IntN(250)+1),
		Agent:   userAgents[g.r.IntN(len(userAgents))],
	}
	g.n++
	return req
}

// status is mostly 2xx, with realistic client and server errors.
func (g *Generator) status(method string) int {
	x := g.r.IntN(1000)
	switch {
	case x < 25:
		return 404
	case x < 35:
		return 401
	case x < 40:
		return 403
	case x < 48:
		return 400
	case x < 52:
		return 429
	case x < 58:
		return 500
	case x < 60:
		return 502
	case x < 61:
		return 504
	case method == "POST":
		return 201
	case method == "DELETE":
		return 204
	default:
		return 200
	}
}

// fill replaces each {param} with a value of the kind its name suggests.
func (g *Generator) fill(template string) string {
	var b strings.Builder
	for seg := range strings.SplitSeq(template, "/") {
		if seg == "" {
			continue
		}
		b.WriteByte('/')
		if !strings.HasPrefix(seg, "{") {
			b.WriteString(seg)
			continue
		}
		b.WriteString(g.value(strings.Trim(seg, "{}")))
	}
	return b.String()
}

func (g *Generator) value(param string) string {
	r := g.r
	switch param {
	case "productId", "itemId":
		return strconv.Itoa(1000 + zipf(r, 50000))
	case "userId", "cartId", "webhookId", "deliveryId":
		return g.uuid()
	case "orderId":
		return fmt.Sprintf("ord_%014x", r.Uint64()>>8)
	case "slug":
		return slugAdjectives[r.IntN(len(slugAdjectives))] + "-" + slugNouns[r.IntN(len(slugNouns))]
	case "sku":
		return fmt.Sprintf("SKU-%05d-%c", r.IntN(99999), 'A'+rune(r.IntN(26)))
	case "trackingNumber":
		return fmt.Sprintf("1Z%06X%010d", r.IntN(1<<24), r.IntN(1e9))
	case "date":
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(330)).Format("2006-01-02")
	case "email":
		return fmt.Sprintf("user%d@example.org", r.IntN(5000))
	case "fileHash":
		return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
	default:
		return strconv.Itoa(r.IntN(1 << 20))
	}
}

// zipf returns a skewed value in [0, n): a few ids are very popular.
func zipf(r *rand.Rand, n int) int {
	return int(float64(n) * r.Float64() * r.Float64() * r.Float64())
}

func (g *Generator) uuid() string {
	hi, lo := g.r.Uint64(), g.r.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// SeedJSON formats req in the vendor seed's JSON access-log format, as API
// Gateway writes it: every value a string, "-" for absent ones, the stage
// prefix in $context.path on execute-api domains.
func SeedJSON(req Request) string {
	path := req.Path
	if req.Route.Host == ExecuteHost {
		path = "/" + req.Route.Stage + path
	}
	errMsg, integrationStatus, integrationLatency := "-", strconv.Itoa(req.Status), strconv.Itoa(max(req.Latency-3, 1))
	if m, ok := errorMessages[req.Status]; ok {
		errMsg = m
		if req.Status == 401 || req.Status == 403 || req.Status == 429 {
			integrationStatus, integrationLatency = "-", "-"
		}
	}
	return fmt.Sprintf(`{ "requestId": "%s", "httpMethod": "%s", "path": "%s", "protocol": "HTTP/1.1", "status": "%d", "responseLength": "%d", "requestTime": "%s", "requestTimeEpoch": "%d", "responseLatency": "%d", "integrationLatency": "%s", "integrationStatus": "%s", "errorMessage": "%s", "stage": "%s", "domainName": "%s", "sourceIp": "%s", "userAgent": "%s" }`,
		req.ID, req.Route.Method, path, req.Status, req.Bytes, req.Time.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		req.Time.UnixMilli(), req.Latency, integrationLatency, integrationStatus, errMsg, req.Route.Stage,
		req.Route.Host, req.IP, req.Agent)
}
