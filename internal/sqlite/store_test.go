package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gwtap/gwtap/internal/inventory"
	"github.com/gwtap/gwtap/internal/record"
)

func openStore(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func records(from, n int) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = fullRecord(from + i)
	}
	return recs
}

func scanAll(t *testing.T, s inventory.Store, batch int) []record.Record {
	t.Helper()
	end, err := s.Position(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []record.Record
	err = s.Scan(t.Context(), end, batch, func(recs []record.Record) error {
		if len(recs) > batch {
			t.Errorf("batch of %d, want at most %d", len(recs), batch)
		}
		out = append(out, recs...)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

func TestAppendDeduplicates(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	ctx := t.Context()
	otherApp := fullRecord(1)
	otherApp.AppID = "7"
	steps := []struct {
		name      string
		recs      []record.Record
		wantNew   []bool
		wantCount int64
	}{
		{"first batch", records(0, 3), []bool{true, true, true}, 3},
		{"retry of the batch", records(0, 3), []bool{false, false, false}, 3},
		{"overlapping batch", records(2, 3), []bool{false, true, true}, 5},
		{"duplicate inside a batch", []record.Record{fullRecord(10), fullRecord(10), fullRecord(11)}, []bool{true, false, true}, 7},
		{"same id in another application", []record.Record{otherApp}, []bool{true}, 8},
		{"empty batch", nil, []bool{}, 8},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			res, err := s.Append(ctx, st.recs)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !reflect.DeepEqual(res.New, st.wantNew) {
				t.Errorf("New = %v, want %v", res.New, st.wantNew)
			}
			accepted := 0
			for _, n := range st.wantNew {
				if n {
					accepted++
				}
			}
			if res.Accepted != accepted || res.Duplicates() != len(st.wantNew)-accepted {
				t.Errorf("accepted %d duplicates %d", res.Accepted, res.Duplicates())
			}
			if n, _ := s.Count(ctx); n != st.wantCount {
				t.Errorf("Count = %d, want %d", n, st.wantCount)
			}
		})
	}
	got := scanAll(t, s, 2)
	want := append(append(append(records(0, 3), records(3, 2)...), fullRecord(10), fullRecord(11)), otherApp)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan returned %d records, want %d in append order", len(got), len(want))
	}
}

func TestAppendMixedApplications(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	var recs []record.Record
	for i := range 200 {
		r := fullRecord(i / 2)
		r.AppID = []string{"a", "b", "c"}[i%3]
		recs = append(recs, r)
	}
	first, err := s.Append(t.Context(), recs[:100])
	if err != nil {
		t.Fatal(err)
	}
	if first.Accepted != 100 {
		t.Fatalf("accepted %d of 100 distinct records", first.Accepted)
	}
	res, err := s.Append(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if want := i >= 100; res.New[i] != want {
			t.Fatalf("record %d (app %s): new %v, want %v", i, recs[i].AppID, res.New[i], want)
		}
	}
	got := scanAll(t, s, 64)
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("scan returned %d records, not the 200 appended in order", len(got))
	}
}

func TestIDWithoutTimeUsesEventTime(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	a := record.Record{ID: "x", EventTime: 5}
	b := record.Record{ID: "x", EventTime: 5, Path: "/other"}
	c := record.Record{ID: "x"}
	res, err := s.Append(t.Context(), []record.Record{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true}; !reflect.DeepEqual(res.New, want) {
		t.Errorf("New = %v, want %v", res.New, want)
	}
}

func TestReopenKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "node.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), records(0, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, path, Options{})
	if n, _ := s2.Count(t.Context()); n != 5000 {
		t.Errorf("Count after reopen = %d", n)
	}
	res, err := s2.Append(t.Context(), records(4999, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.New, []bool{false, true}) {
		t.Errorf("dedup across reopen: %v", res.New)
	}
	if got := scanAll(t, s2, 1000); len(got) != 5001 || !reflect.DeepEqual(got[:5000], records(0, 5000)) {
		t.Errorf("scan after reopen returned %d records", len(got))
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%20", "node.db")
	s := openStore(t, path, Options{})
	if _, err := s.Append(t.Context(), records(0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %s: %v", path, err)
	}
}

// crashEnv makes the test binary act as a process that appends and then
// waits to be killed.
const crashEnv = "GWTAP_SQLITE_CRASH_HELPER"

func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestNothingLostAfterCrash")
	}
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	for i := range 3 {
		if _, err := s.Append(t.Context(), records(i*1000, 1000)); err != nil {
			fmt.Println("append:", err)
			os.Exit(2)
		}
		fmt.Println("appended", (i+1)*1000)
	}
	time.Sleep(time.Minute) // killed long before
	os.Exit(3)
}

// TestNothingLostAfterCrash kills a process with SIGKILL right after its
// appends returned, without closing the store, and finds every record.
func TestNothingLostAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "appended 3000" {
			break
		}
		if len(sc.Text()) > 0 && sc.Text()[0] != 'a' {
			t.Fatalf("helper: %s", sc.Text())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("helper exited cleanly; it should have been killed")
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Logf("no WAL left behind (%v); the test still checks the records", err)
	}
	s := openStore(t, path, Options{})
	if n, _ := s.Count(t.Context()); n != 3000 {
		t.Errorf("after crash: %d records, want 3000", n)
	}
	if got := scanAll(t, s, 512); !reflect.DeepEqual(got, records(0, 3000)) {
		t.Errorf("after crash: scan returned %d records, not the ones appended", len(got))
	}
}

func TestScanEndAndErrors(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	ctx := t.Context()
	if _, err := s.Append(ctx, records(0, 10)); err != nil {
		t.Fatal(err)
	}
	end, err := s.Position(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, records(10, 10)); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Scan(ctx, end, 3, func(r []record.Record) error { n += len(r); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("Scan to the earlier position saw %d records, want 10", n)
	}
	stop := errors.New("stop")
	if err := s.Scan(ctx, end, 3, func([]record.Record) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Scan returned %v, want the callback's error", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Scan(cancelled, end, 3, func([]record.Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Scan with a cancelled context returned %v", err)
	}
}

func TestCorruptSegmentIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.db")
	s := openStore(t, path, Options{})
	ctx := t.Context()
	if _, err := s.Append(ctx, records(0, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE segments SET data = x'00ff'"); err != nil {
		t.Fatal(err)
	}
	end, _ := s.Position(ctx)
	if err := s.Scan(ctx, end, 3, func([]record.Record) error { return nil }); !errors.Is(err, errCorrupt) {
		t.Errorf("Scan of a corrupt segment returned %v", err)
	}
	if _, err := s.Recent(ctx, func(*record.Record) bool { return true }, 1, 0); !errors.Is(err, errCorrupt) {
		t.Errorf("Recent over a corrupt segment returned %v", err)
	}
}

func TestRecent(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	ctx := t.Context()
	for i := range 5 {
		if _, err := s.Append(ctx, records(i*100, 100)); err != nil {
			t.Fatal(err)
		}
	}
	even := func(r *record.Record) bool { return r.ResponseBytes%2 == 0 }
	tests := []struct {
		name           string
		match          func(*record.Record) bool
		limit, maxScan int
		wantIDs        []string
	}{
		{"newest first", func(*record.Record) bool { return true }, 3, 0, []string{fullRecord(499).ID, fullRecord(498).ID, fullRecord(497).ID}},
		{"filtered", even, 2, 0, []string{fullRecord(498).ID, fullRecord(496).ID}},
		{"bounded scan", func(r *record.Record) bool { return r.ResponseBytes < 1100 }, 10, 100, nil},
		{"across segments", func(r *record.Record) bool { return r.ResponseBytes == 1000+5 }, 10, 0, []string{fullRecord(5).ID}},
		{"no limit", func(*record.Record) bool { return true }, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Recent(ctx, tt.match, tt.limit, tt.maxScan)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Errorf("got %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// stallingClock blocks the writer inside its first commit until released,
// so tests can fill the queue deterministically.
type stallingClock struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func newStallingClock() *stallingClock {
	return &stallingClock{entered: make(chan struct{}), release: make(chan struct{})}
}

func (c *stallingClock) now() time.Time {
	c.once.Do(func() {
		close(c.entered)
		<-c.release
	})
	return time.Now()
}

func TestOverloadedAndClose(t *testing.T) {
	clock := newStallingClock()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "node.db"), Options{MaxPending: 250, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	results := make(chan error, 2)
	go func() {
		_, err := s.Append(ctx, records(0, 100)) // the writer stalls in this one
		results <- err
	}()
	<-clock.entered
	go func() {
		_, err := s.Append(ctx, records(100, 100)) // queued: 100 pending
		results <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.pending.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Append(ctx, records(200, 100)); !errors.Is(err, inventory.ErrOverloaded) {
		t.Errorf("Append past MaxPending returned %v, want ErrOverloaded", err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.Append(short, records(300, 10)); err == nil {
		t.Error("Append whose context expired while queued returned nil")
	}

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	close(clock.release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("queued Append failed across Close: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Append(ctx, records(400, 1)); !errors.Is(err, inventory.ErrClosed) {
		t.Errorf("Append after Close returned %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "node.db"), Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				// Every goroutine overlaps its neighbour by half.
				if _, err := s.Append(t.Context(), records(g*250+i*50, 100)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, _ := s.Count(t.Context()); n != 7*250+300 {
		t.Errorf("Count = %d, want %d", n, 7*250+300)
	}
}

func TestSchema(t *testing.T) {
	t.Run("not a gwtap database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE customers(id INTEGER)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := Open(t.Context(), path, Options{}); !errors.Is(err, ErrNotGwtap) {
			t.Errorf("Open returned %v, want ErrNotGwtap", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "node.db")
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec("UPDATE schema_version SET version = " + strconv.Itoa(len(migrations)+1)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := Open(t.Context(), path, Options{}); !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("Open returned %v, want ErrSchemaTooNew", err)
		}
	})
	t.Run("version recorded once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "node.db")
		for range 2 {
			s, err := Open(t.Context(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var rows, version int
			if err := s.db.QueryRow("SELECT count(*), max(version) FROM schema_version").Scan(&rows, &version); err != nil {
				t.Fatal(err)
			}
			if rows != 1 || version != len(migrations) {
				t.Errorf("schema_version has %d rows, version %d", rows, version)
			}
			var mode, sync string
			if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if err := s.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if mode != "wal" || sync != "2" {
				t.Errorf("journal_mode %s synchronous %s, want wal and 2 (FULL)", mode, sync)
			}
			s.Close()
		}
	})
}
