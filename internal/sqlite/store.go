package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/record"
)

var _ inventory.Store = (*Store)(nil)

// Defaults of Options.
const (
	DefaultMaxPending = 200_000
	DefaultMaxCommit  = 50_000
	// maxSegmentRecords bounds one segment, so decoding one never needs
	// much memory whatever a caller appends at once.
	maxSegmentRecords = 4096
	// keyChunk is how many keys one INSERT statement carries.
	keyChunk = 64
	readers  = 4
)

// Options tune a Store; the zero value is usable.
type Options struct {
	// MaxPending bounds the records waiting to be written; an Append that
	// would pass it fails with inventory.ErrOverloaded. Default
	// DefaultMaxPending.
	MaxPending int
	// MaxCommit bounds the records one transaction commits. Default
	// DefaultMaxCommit.
	MaxCommit int
	// Logger receives the store's rare operational messages. Default: discard.
	Logger *slog.Logger
	// Now returns the current time (for received_ms). Default time.Now.
	Now func() time.Time
}

// Store is an inventory.Store in one SQLite file. Appends from any number of
// goroutines are queued to a single writer goroutine that commits whatever
// is waiting in one transaction.
type Store struct {
	db    *sql.DB
	wconn *sql.Conn // the writer goroutine's connection
	opts  Options
	log   *slog.Logger
	zenc  *zstd.Encoder
	zdec  *zstd.Decoder

	mu      sync.Mutex // guards closed and sends on queue
	closed  bool
	queue   chan *job
	pending atomic.Int64
	count   atomic.Int64
	done    chan struct{}
	encoder sync.Pool // *segmentEncoder

	// Used by the writer goroutine only.
	w writer
}

// Open opens (creating if needed) the store at path, brings its schema up
// to date and starts its writer. ctx bounds the opening only. Errors:
// ErrNotGwtap, ErrSchemaTooNew, or a wrapped I/O or SQLite error.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.MaxCommit <= 0 {
		opts.MaxCommit = DefaultMaxCommit
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("creating the store's directory: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	db.SetMaxOpenConns(1 + readers)
	db.SetMaxIdleConns(1 + readers)
	s := &Store{db: db, opts: opts, log: opts.Logger, queue: make(chan *job, 1024), done: make(chan struct{})}
	if err := s.open(ctx, abs); err != nil {
		return nil, errors.Join(err, s.closeDB())
	}
	go s.run(context.WithoutCancel(ctx))
	return s, nil
}

// dsn returns the driver's name for the database at abs: a file: URI (so
// any character may appear in the path) with the connection settings every
// connection of the pool gets. Pages of 16 KiB (for a new database; an
// existing one keeps its size) mean fewer, fuller WAL frames per commit:
// a tenth more appends per CPU second than the default 4 KiB in
// BenchmarkAppend.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Add("_pragma", "page_size(16384)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "temp_store(MEMORY)")
	return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) open(ctx context.Context, abs string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("opening store %s: %w", abs, err)
	}
	s.wconn = conn
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("opening store %s: %w", abs, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("opening store %s: journal mode is %q, want wal", abs, mode)
	}
	if _, err := migrate(ctx, conn); err != nil {
		return fmt.Errorf("opening store %s: %w", abs, err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(sum(records), 0) FROM segments").Scan(&n); err != nil {
		return fmt.Errorf("counting records: %w", err)
	}
	s.count.Store(n)
	if s.zenc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(true)); err != nil {
		return fmt.Errorf("creating zstd encoder: %w", err)
	}
	if s.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30)); err != nil {
		return fmt.Errorf("creating zstd decoder: %w", err)
	}
	return s.w.prepare(ctx, conn)
}

// key is a record's identity in record_keys.
type key struct {
	app string
	ts  int64
	id  string
}

func keyOf(r *record.Record) key {
	ts := r.Time
	if ts == 0 {
		ts = r.EventTime
	}
	return key{app: r.AppID, ts: ts, id: r.ID}
}

// idValue is how id is stored: 16 bytes for a canonical UUID, else text.
func idValue(id string) any {
	if u, ok := parseUUID(id); ok {
		return u[:]
	}
	return id
}

// job is one Append waiting for the writer.
type job struct {
	recs  []record.Record // distinct keys, in order of first appearance
	keys  []key
	segs  []encoded // the segments of recs, assuming all are new
	isNew []bool    // set by the writer
	err   error     // set by the writer
	done  chan struct{}
}

// Append implements inventory.Store.
func (s *Store) Append(ctx context.Context, recs []record.Record) (inventory.Appended, error) {
	res := inventory.Appended{New: make([]bool, len(recs))}
	if len(recs) == 0 {
		return res, nil
	}
	// Duplicates within recs are settled here; the writer sees each key once.
	j := &job{done: make(chan struct{})}
	first := make([]int, 0, len(recs)) // index in recs of each job record
	seen := make(map[key]struct{}, len(recs))
	for i := range recs {
		k := keyOf(&recs[i])
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		first = append(first, i)
		j.keys = append(j.keys, k)
	}
	if len(first) == len(recs) {
		j.recs = recs
	} else {
		j.recs = make([]record.Record, len(first))
		for n, i := range first {
			j.recs[n] = recs[i]
		}
	}
	j.segs = s.encodeSegments(j.recs, j.segs)

	if err := s.enqueue(j); err != nil {
		return inventory.Appended{}, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return inventory.Appended{}, fmt.Errorf("appending records: %w", ctx.Err())
	}
	if j.err != nil {
		return inventory.Appended{}, j.err
	}
	for n, i := range first {
		if j.isNew[n] {
			res.New[i] = true
			res.Accepted++
		}
	}
	return res, nil
}

func (s *Store) enqueue(j *job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return inventory.ErrClosed
	}
	n := int64(len(j.recs))
	if s.pending.Load()+n > int64(s.opts.MaxPending) && s.pending.Load() > 0 {
		return inventory.ErrOverloaded
	}
	select {
	case s.queue <- j:
		s.pending.Add(n)
		return nil
	default:
		return inventory.ErrOverloaded
	}
}

// encoded is one compressed segment ready to insert.
type encoded struct {
	records int
	data    []byte
}

// encodeSegments appends to dst the compressed segments of recs, at most
// maxSegmentRecords records each.
func (s *Store) encodeSegments(recs []record.Record, dst []encoded) []encoded {
	enc, _ := s.encoder.Get().(*segmentEncoder)
	if enc == nil {
		enc = &segmentEncoder{}
	}
	defer s.encoder.Put(enc)
	var raw []byte
	for len(recs) > 0 {
		n := min(len(recs), maxSegmentRecords)
		raw = enc.encode(raw[:0], recs[:n])
		dst = append(dst, encoded{records: n, data: s.zenc.EncodeAll(raw, nil)})
		recs = recs[n:]
	}
	return dst
}

// decodeSegment decodes one stored segment into recs' storage.
func (s *Store) decodeSegment(recs []record.Record, format int, data []byte) ([]record.Record, error) {
	if format != segmentFormat {
		return nil, fmt.Errorf("%w: unknown format %d", errCorrupt, format)
	}
	raw, err := s.zdec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return decodeSegment(recs, raw)
}

// Position implements inventory.Store.
func (s *Store) Position(ctx context.Context) (inventory.Position, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM segments").Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading the store's position: %w", err)
	}
	return inventory.Position(seq), nil
}

// scanPage is how many segments one query of Scan reads.
const scanPage = 32

// Scan implements inventory.Store. Segments are read a page at a time, each
// page by its own query, so a long scan holds no read transaction open and
// does not keep the WAL from being checkpointed.
func (s *Store) Scan(ctx context.Context, end inventory.Position, batchSize int, fn func([]record.Record) error) error {
	batchSize = max(batchSize, 1)
	var recs, batch []record.Record
	batch = make([]record.Record, 0, batchSize)
	var after int64
	for {
		type row struct {
			seq    int64
			format int
			data   []byte
		}
		var page []row
		rows, err := s.db.QueryContext(ctx, "SELECT seq, format, data FROM segments WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", after, int64(end), scanPage)
		if err != nil {
			return fmt.Errorf("scanning records: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.seq, &r.format, &r.data); err != nil {
				rows.Close()
				return fmt.Errorf("scanning records: %w", err)
			}
			page = append(page, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("scanning records: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			after = r.seq
			if recs, err = s.decodeSegment(recs, r.format, r.data); err != nil {
				return fmt.Errorf("scanning segment %d: %w", r.seq, err)
			}
			for len(recs) > 0 {
				n := min(len(recs), batchSize-len(batch))
				batch = append(batch, recs[:n]...)
				recs = recs[n:]
				if len(batch) == batchSize {
					if err := fn(batch); err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// Recent implements inventory.Store. The records it returns own their
// strings (they do not pin a decoded segment).
func (s *Store) Recent(ctx context.Context, match func(*record.Record) bool, limit, maxScan int) ([]record.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out, recs []record.Record
	scanned := 0
	before := int64(1) << 62
	for {
		rows, err := s.db.QueryContext(ctx, "SELECT seq, format, data FROM segments WHERE seq < ? ORDER BY seq DESC LIMIT 8", before)
		if err != nil {
			return nil, fmt.Errorf("reading recent records: %w", err)
		}
		got := 0
		for rows.Next() {
			got++
			var format int
			var data []byte
			if err := rows.Scan(&before, &format, &data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading recent records: %w", err)
			}
			if recs, err = s.decodeSegment(recs, format, data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading segment %d: %w", before, err)
			}
			for i := len(recs) - 1; i >= 0; i-- {
				if match(&recs[i]) {
					out = append(out, cloneRecord(recs[i]))
					if len(out) == limit {
						rows.Close()
						return out, nil
					}
				}
			}
			scanned += len(recs)
			if maxScan > 0 && scanned >= maxScan {
				rows.Close()
				return out, nil
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("reading recent records: %w", err)
		}
		if got == 0 {
			return out, nil
		}
	}
}

func cloneRecord(r record.Record) record.Record {
	for _, f := range strFields {
		f.set(&r, strings.Clone(f.get(&r)))
	}
	r.ID = strings.Clone(r.ID)
	return r
}

// Count implements inventory.Store.
func (s *Store) Count(context.Context) (int64, error) {
	return s.count.Load(), nil
}

// Close implements inventory.Store: appends already queued are committed
// before it returns.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return s.closeDB()
}

func (s *Store) closeDB() error {
	var errs []error
	if s.wconn != nil {
		// Fold the WAL back into the database so the file stands alone.
		if _, err := s.wconn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("checkpointing the WAL on close", "error", err)
		}
		errs = append(errs, s.w.close(), s.wconn.Close())
	}
	if s.zenc != nil {
		errs = append(errs, s.zenc.Close())
	}
	if s.zdec != nil {
		s.zdec.Close()
	}
	errs = append(errs, s.db.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}
