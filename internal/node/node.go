package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gwtap/gwtap/internal/discovery"
	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/protocol"
	"github.com/gwtap/gwtap/internal/record"
	"github.com/gwtap/gwtap/internal/web"
)

// Defaults of Config.
const (
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultReadTimeout          = 60 * time.Second
	DefaultWriteTimeout         = 60 * time.Second
	DefaultIdleTimeout          = 120 * time.Second
	DefaultShutdownTimeout      = 30 * time.Second
	DefaultMaxConcurrentBatches = 16
	DefaultRecentLimit          = 20
	DefaultRecentScan           = 200_000
	// rebuildBatch is how many records the rebuild hands the discoverer at once.
	rebuildBatch = 4096
)

// Config configures a Node. The zero value of every field means its default.
type Config struct {
	// Token, when set, is the bearer token POST /v1/records requires.
	Token string
	// Version is reported by /healthz and on the page.
	Version string
	// Timeouts of the HTTP server.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits for in-flight requests
	// after its context ends.
	ShutdownTimeout time.Duration
	// MaxConcurrentBatches bounds the batches decoded at once (each may
	// take protocol.MaxBodyBytes of memory); past it the node answers 503.
	MaxConcurrentBatches int
	// RecentLimit is how many recent requests an endpoint's detail shows;
	// RecentScan how many of the latest records are searched for them.
	RecentLimit, RecentScan int
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	or := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	or(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	or(&c.ReadTimeout, DefaultReadTimeout)
	or(&c.WriteTimeout, DefaultWriteTimeout)
	or(&c.IdleTimeout, DefaultIdleTimeout)
	or(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxConcurrentBatches <= 0 {
		c.MaxConcurrentBatches = DefaultMaxConcurrentBatches
	}
	if c.RecentLimit <= 0 {
		c.RecentLimit = DefaultRecentLimit
	}
	if c.RecentScan <= 0 {
		c.RecentScan = DefaultRecentScan
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Discoverer is what the node needs of the inventory engine;
// *discovery.Discoverer implements it.
type Discoverer interface {
	Add(recs ...record.Record)
	Endpoints() []discovery.Endpoint
	Stats() discovery.Stats
	Match(r record.Record) (discovery.Key, bool)
}

var _ Discoverer = (*discovery.Discoverer)(nil)

// Node serves one store and discoverer over HTTP.
type Node struct {
	cfg   Config
	store inventory.Store
	disc  Discoverer
	log   *slog.Logger
	pages *web.Renderer
	mux   *http.ServeMux

	tokenSum [sha256.Size]byte
	batches  chan struct{} // semaphore of MaxConcurrentBatches

	draining   atomic.Bool
	rebuilding atomic.Bool
	rebuilt    atomic.Int64 // records replayed into the discoverer so far
	storeErr   atomic.Bool  // the last append failed for a reason other than load
	counters   counters
	started    time.Time
}

// counters are the node's totals since it started.
type counters struct {
	batches, received, accepted, duplicates, rejected atomic.Int64
}

// New returns a Node for store and disc. It fails only if the embedded
// page templates do not parse.
func New(cfg Config, store inventory.Store, disc Discoverer) (*Node, error) {
	cfg.setDefaults()
	pages, err := web.New()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, store: store, disc: disc, log: cfg.Logger, pages: pages,
		batches: make(chan struct{}, cfg.MaxConcurrentBatches),
		started: cfg.Now(),
	}
	if cfg.Token != "" {
		n.tokenSum = sha256.Sum256([]byte(cfg.Token))
	}
	n.routes()
	return n, nil
}

func (n *Node) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST "+protocol.RecordsPath, n.handleRecords)
	m.HandleFunc("GET "+protocol.HealthPath, n.handleHealth)
	m.HandleFunc("GET /v1/inventory", n.handleInventory)
	m.HandleFunc("GET /v1/inventory/{id}", n.handleEndpoint)
	m.HandleFunc("GET /v1/openapi.json", n.handleOpenAPI)
	m.HandleFunc("GET "+web.StatsPath, n.handleStats)
	m.HandleFunc("GET /{$}", n.handleIndexPage)
	m.HandleFunc("GET /endpoints/{id}", n.handleEndpointPage)
	m.Handle("GET /static/", web.Static())
	n.mux = m
}

// Handler returns the node's HTTP handler.
func (n *Node) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		n.mux.ServeHTTP(w, r)
	})
}

// Rebuild replays the records stored before end into the discoverer. Run
// calls it; call it directly only on a Node that has not taken records yet.
// It returns the context's error if ctx ends first, or a storage error.
func (n *Node) Rebuild(ctx context.Context, end inventory.Position) error {
	n.rebuilding.Store(true)
	defer n.rebuilding.Store(false)
	start := time.Now()
	next := start.Add(10 * time.Second)
	err := n.store.Scan(ctx, end, rebuildBatch, func(recs []record.Record) error {
		n.disc.Add(recs...)
		total := n.rebuilt.Add(int64(len(recs)))
		if now := time.Now(); now.After(next) {
			n.log.Info("rebuilding the inventory", "records", total)
			next = now.Add(10 * time.Second)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuilding the inventory: %w", err)
	}
	n.log.Info("rebuilt the inventory", "records", n.rebuilt.Load(), "endpoints", len(n.disc.Endpoints()), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// Run rebuilds the inventory from the store and serves on ln until ctx
// ends, then stops taking requests, waits up to ShutdownTimeout for the
// batches in flight to be stored and answered, and returns. It does not
// close the store. Records arriving during the rebuild are taken: the
// rebuild replays only what was stored before Run began.
func (n *Node) Run(ctx context.Context, ln net.Listener) error {
	end, err := n.store.Position(ctx)
	if err != nil {
		return fmt.Errorf("starting the node: %w", err)
	}
	rebuildCtx, stopRebuild := context.WithCancel(ctx)
	defer stopRebuild()
	rebuilt := make(chan error, 1)
	n.rebuilding.Store(true) // before the first request can ask
	go func() { rebuilt <- n.Rebuild(rebuildCtx, end) }()

	srv := &http.Server{
		Handler:           n.Handler(),
		ReadHeaderTimeout: n.cfg.ReadHeaderTimeout,
		ReadTimeout:       n.cfg.ReadTimeout,
		WriteTimeout:      n.cfg.WriteTimeout,
		IdleTimeout:       n.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	n.log.Info("node listening", "addr", ln.Addr().String())

	var runErr error
	rebuildDone := false
	wait := func() {
		select {
		case <-ctx.Done():
		case err := <-served:
			runErr = fmt.Errorf("serving: %w", err)
		}
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		runErr = fmt.Errorf("serving: %w", err)
	case err := <-rebuilt:
		rebuildDone = true
		n.logRebuildError(ctx, err)
		wait()
	}

	n.draining.Store(true)
	stopRebuild()
	n.log.Info("node shutting down", "timeout", n.cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("shutting down: %w", err))
	}
	if !rebuildDone {
		n.logRebuildError(ctx, <-rebuilt)
	}
	return runErr
}

// logRebuildError logs a rebuild error that is not the node stopping. The
// node goes on taking records: they are stored, and the next start
// rebuilds from all of them.
func (n *Node) logRebuildError(ctx context.Context, err error) {
	if err != nil && ctx.Err() == nil {
		n.log.Error("rebuilding the inventory failed; the node keeps taking records", "error", err)
	}
}
