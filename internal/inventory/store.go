package inventory

import (
	"context"
	"errors"

	"github.com/gwtap/gwtap/internal/record"
)

// Store keeps the records a node accepted, deduplicated by application id
// and record id. Implementations are safe for concurrent use.
//
// A record's identity is (AppID, ID); the record's timestamp (Time, or
// EventTime when Time is unknown) is part of the key an implementation may
// index by, because it is part of the record: every delivery of one record
// carries the same timestamp, and leading an index with time keeps writes
// local instead of scattering them over random request ids.
type Store interface {
	// Append stores the records of recs that the store does not hold yet and
	// reports which those were. It returns only after the new records are
	// durable: once Append returns without error they survive a crash of
	// the process and, unless the implementation documents otherwise, of
	// the machine. recs may hold the same record twice; the second is a
	// duplicate. Errors: ErrOverloaded when the store cannot take more
	// work now, ErrClosed after Close, the context's error when ctx ends
	// first (the records may or may not have been stored), or a wrapped
	// storage error.
	Append(ctx context.Context, recs []record.Record) (Appended, error)

	// Position returns the current end of the stored records: Scan with it
	// visits exactly the records appended before Position was called.
	Position(ctx context.Context) (Position, error)

	// Scan calls fn with the stored records in the order they were
	// appended, up to and including the ones before end, in batches of at
	// most batchSize. The slice passed to fn is reused after fn returns.
	// Scan stops at the first error fn returns and returns it.
	Scan(ctx context.Context, end Position, batchSize int, fn func([]record.Record) error) error

	// Recent returns up to limit of the most recently appended records for
	// which match returns true, newest first, looking at no more than
	// maxScan records (0 means no bound).
	Recent(ctx context.Context, match func(*record.Record) bool, limit, maxScan int) ([]record.Record, error)

	// Count returns how many records the store holds.
	Count(ctx context.Context) (int64, error)

	// Close waits for pending appends to finish and releases the store.
	// Appends after Close fail with ErrClosed.
	Close() error
}

// Position is an opaque point in a store's sequence of appends.
type Position int64

// Appended is the outcome of Store.Append.
type Appended struct {
	// New[i] reports whether recs[i] was stored by this call; false means
	// the store already held it (a duplicate).
	New []bool
	// Accepted counts the true values of New.
	Accepted int
}

// Duplicates returns how many records of the call were already stored.
func (a Appended) Duplicates() int { return len(a.New) - a.Accepted }

var (
	// ErrOverloaded means the store has more pending work than it accepts;
	// the caller should retry later.
	ErrOverloaded = errors.New("store overloaded")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrNotFound means the requested item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidQuery means a query parameter is malformed; the wrapping
	// error says which.
	ErrInvalidQuery = errors.New("invalid query")
)
