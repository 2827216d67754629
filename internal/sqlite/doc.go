// Package sqlite is the SQLite implementation of inventory.Store, on
// modernc.org/sqlite (pure Go, no cgo).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so every
// commit is fsynced to the write-ahead log before Append returns, and a
// record the node answered 200 for survives a crash of the process or of
// the machine. (synchronous=NORMAL would survive a process crash only; a
// power loss could undo the last commits after their 200 had gone out.)
// The cost of FULL, one fsync per commit, is shared: one writer goroutine
// commits everything that is waiting in one transaction (group commit).
//
// Layout: the new records of an append are stored as rows of segments,
// column by column and zstd-compressed (see segment.go), plus one row per
// record in record_keys, the deduplication index, which also names the
// first segment of the append that stored the record. Its key is (timestamp, application, record
// id): the timestamp is part of the record, so every delivery of one record
// has the same key, and leading with it keeps inserts near the end of the
// index instead of at random request ids, which would rewrite a page of the
// index per record once it outgrows the cache. Keys go in many per
// statement with ON CONFLICT DO NOTHING; when a statement inserts fewer
// rows than it carries, the segment column tells which were this append's.
// Schema changes are numbered migrations recorded in schema_version.
package sqlite
