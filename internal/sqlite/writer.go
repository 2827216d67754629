package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gwtap/gwtap/internal/record"
)

// writer holds the writer goroutine's prepared statements and buffers.
type writer struct {
	conn *sql.Conn
	// keys[n] inserts n keys at once, for n a power of two up to keyChunk.
	keys map[int]*sql.Stmt
	// mine tells whether a key was inserted with a given segment number.
	mine    *sql.Stmt
	segment *sql.Stmt
	args    []any
	// nextSeg is the seq the next segment gets; keys carry it so a
	// partly conflicting insert can be sorted out without a savepoint.
	nextSeg int64
}

func (w *writer) prepare(ctx context.Context, conn *sql.Conn) error {
	w.conn = conn
	w.keys = map[int]*sql.Stmt{}
	for n := 1; n <= keyChunk; n *= 2 {
		// The application and the segment are bound once for all rows;
		// every parameter is anonymous, which the driver binds fastest.
		// OR IGNORE (rather than ON CONFLICT DO NOTHING, which leaves NOT
		// NULL at ABORT) means the statement can never abort halfway, so
		// SQLite keeps no statement journal: a copy of every page it
		// touches.
		var q strings.Builder
		q.WriteString("INSERT OR IGNORE INTO record_keys(ts, app, id, seg) SELECT column1, ?, column2, ? FROM (VALUES ")
		for i := range n {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?,?)")
		}
		q.WriteString(")")
		st, err := conn.PrepareContext(ctx, q.String())
		if err != nil {
			return fmt.Errorf("preparing key insert: %w", err)
		}
		w.keys[n] = st
	}
	st, err := conn.PrepareContext(ctx, "INSERT INTO segments(seq, received_ms, records, format, data) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		return fmt.Errorf("preparing segment insert: %w", err)
	}
	w.segment = st
	if w.mine, err = conn.PrepareContext(ctx, "SELECT seg = ? FROM record_keys WHERE ts = ? AND app = ? AND id = ?"); err != nil {
		return fmt.Errorf("preparing key lookup: %w", err)
	}
	return w.loadNextSeg(ctx)
}

// loadNextSeg sets nextSeg from the database, at open and after a failed
// transaction.
func (w *writer) loadNextSeg(ctx context.Context) error {
	if err := w.conn.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM segments").Scan(&w.nextSeg); err != nil {
		return fmt.Errorf("reading the last segment: %w", err)
	}
	return nil
}

func (w *writer) close() error {
	var errs []error
	for _, st := range w.keys {
		errs = append(errs, st.Close())
	}
	for _, st := range []*sql.Stmt{w.segment, w.mine} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// run is the writer goroutine: it takes every job waiting, commits them in
// one transaction, and reports to each. It drains the queue after Close.
func (s *Store) run(ctx context.Context) {
	defer close(s.done)
	for j := range s.queue {
		jobs := []*job{j}
		n := len(j.recs)
	gather:
		for n < s.opts.MaxCommit {
			select {
			case more, ok := <-s.queue:
				if !ok {
					break gather
				}
				jobs = append(jobs, more)
				n += len(more.recs)
			default:
				break gather
			}
		}
		err := s.commit(ctx, jobs)
		if err != nil {
			s.log.Error("committing records", "records", n, "error", err)
		}
		for _, j := range jobs {
			if err != nil {
				j.err = err
			}
			close(j.done)
		}
		s.pending.Add(-int64(n))
	}
}

// commit writes jobs in one transaction. On error nothing of it is stored.
func (s *Store) commit(ctx context.Context, jobs []*job) (err error) {
	w := &s.w
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(ctx, "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rolling back: %w", rbErr))
			}
			if seqErr := w.loadNextSeg(ctx); seqErr != nil {
				err = errors.Join(err, seqErr)
			}
		}
	}()
	now := s.opts.Now().UnixMilli()
	added := 0
	for _, j := range jobs {
		n, err := s.writeJob(ctx, j, now)
		if err != nil {
			return err
		}
		added += n
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	s.count.Add(int64(added))
	return nil
}

// writeJob stores j's new records and sets j.isNew; it returns how many
// were new. The keys go in many per statement, tagged with the segment
// number the job's records will have; where a statement inserted fewer keys
// than it carried, the tag tells which were new.
func (s *Store) writeJob(ctx context.Context, j *job, now int64) (int, error) {
	w := &s.w
	j.isNew = make([]bool, len(j.keys))
	done := map[string]bool{}
	seg := w.nextSeg
	added := 0
	// Keys are inserted in runs of one application (usually the whole job),
	// in chunks of a power of two.
	var idx []int
	for runStart := 0; runStart < len(j.keys); {
		app := j.keys[runStart].app
		idx = idx[:0]
		for i := runStart; i < len(j.keys); i++ {
			if j.keys[i].app == app {
				idx = append(idx, i)
			}
		}
		for start := 0; start < len(idx); {
			n := keyChunk
			for n > len(idx)-start {
				n /= 2
			}
			chunk := idx[start : start+n]
			inserted, err := w.insertKeys(ctx, app, j.keys, chunk, seg)
			if err != nil {
				return 0, err
			}
			switch {
			case inserted == n:
				for _, i := range chunk {
					j.isNew[i] = true
				}
			case inserted > 0:
				for _, i := range chunk {
					if j.isNew[i], err = w.isMine(ctx, j.keys[i], seg); err != nil {
						return 0, err
					}
				}
			}
			added += inserted
			start += n
		}
		// Move to the first key of another application not yet inserted.
		done[app] = true
		for runStart < len(j.keys) && done[j.keys[runStart].app] {
			runStart++
		}
	}
	segs := j.segs
	if added < len(j.keys) {
		fresh := make([]record.Record, 0, added)
		for i := range j.recs {
			if j.isNew[i] {
				fresh = append(fresh, j.recs[i])
			}
		}
		segs = s.encodeSegments(fresh, nil)
	}
	// Every segment of the job gets its own seq; the keys name the first,
	// which is enough to tell this job's keys from any other's.
	for _, e := range segs {
		if _, err := w.segment.ExecContext(ctx, w.nextSeg, now, e.records, segmentFormat, e.data); err != nil {
			return 0, fmt.Errorf("inserting segment: %w", err)
		}
		w.nextSeg++
	}
	if len(segs) == 0 {
		w.nextSeg++ // keep the tag unique even though no segment used it
	}
	return added, nil
}

// insertKeys inserts the keys at idx, all of application app, tagged with
// seg, ignoring those that exist, and returns how many were inserted.
// len(idx) must be a power of two no larger than keyChunk.
func (w *writer) insertKeys(ctx context.Context, app string, keys []key, idx []int, seg int64) (int, error) {
	w.args = append(w.args[:0], app, seg)
	for _, i := range idx {
		w.args = append(w.args, keys[i].ts, idValue(keys[i].id))
	}
	res, err := w.keys[len(idx)].ExecContext(ctx, w.args...)
	if err != nil {
		return 0, fmt.Errorf("inserting record keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("inserting record keys: %w", err)
	}
	return int(n), nil
}

// isMine reports whether k was inserted with tag seg.
func (w *writer) isMine(ctx context.Context, k key, seg int64) (bool, error) {
	var mine bool
	if err := w.mine.QueryRowContext(ctx, seg, k.ts, k.app, idValue(k.id)).Scan(&mine); err != nil {
		return false, fmt.Errorf("looking up a record key: %w", err)
	}
	return mine, nil
}
