package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// applicationID marks a database file as gwtap's ("gwtp").
const applicationID = 0x67777470

// migrations[i] moves the schema from version i to i+1. Never edit one that
// has shipped: add the next.
var migrations = []string{
	`CREATE TABLE segments (
		seq         INTEGER PRIMARY KEY,
		received_ms INTEGER NOT NULL,
		records     INTEGER NOT NULL,
		format      INTEGER NOT NULL,
		data        BLOB    NOT NULL
	);
	CREATE TABLE record_keys (
		ts  INTEGER NOT NULL,
		app TEXT    NOT NULL,
		id  BLOB    NOT NULL,
		seg INTEGER NOT NULL,
		PRIMARY KEY (ts, app, id)
	) WITHOUT ROWID;`,
}

// ErrSchemaTooNew means the database was written by a newer gwtap.
var ErrSchemaTooNew = errors.New("database schema is newer than this gwtap")

// ErrNotGwtap means the file is an SQLite database of another application.
var ErrNotGwtap = errors.New("not a gwtap database")

// migrate brings the schema of conn up to date and returns its version.
// A new database gets every migration; a file holding another
// application's tables is refused with ErrNotGwtap.
func migrate(ctx context.Context, conn *sql.Conn) (int, error) {
	var appID int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, fmt.Errorf("reading application id: %w", err)
	}
	if appID != 0 && appID != applicationID {
		return 0, ErrNotGwtap
	}
	var tables, versioned int
	err := conn.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE name = 'schema_version')
		FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables, &versioned)
	if err != nil {
		return 0, fmt.Errorf("reading schema: %w", err)
	}
	version := 0
	switch {
	case versioned == 1:
		if err := conn.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&version); err != nil {
			return 0, fmt.Errorf("reading schema version: %w", err)
		}
	case tables > 0:
		return 0, ErrNotGwtap
	default:
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE;
			CREATE TABLE schema_version (version INTEGER NOT NULL);
			INSERT INTO schema_version(version) VALUES(0);
			COMMIT`); err != nil {
			return 0, fmt.Errorf("creating schema_version: %w", err)
		}
	}
	if version > len(migrations) {
		return version, fmt.Errorf("%w: version %d, this gwtap knows %d", ErrSchemaTooNew, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if err := applyMigration(ctx, conn, v); err != nil {
			return v, err
		}
	}
	return len(migrations), nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, from int) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrating schema to version %d: %w", from+1, err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = fmt.Errorf("%w (and rolling back: %v)", err, rbErr)
			}
		}
	}()
	if _, err := conn.ExecContext(ctx, migrations[from]); err != nil {
		return fmt.Errorf("migrating schema to version %d: %w", from+1, err)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE schema_version SET version = ?", from+1); err != nil {
		return fmt.Errorf("recording schema version %d: %w", from+1, err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return fmt.Errorf("setting application id: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("committing schema version %d: %w", from+1, err)
	}
	return nil
}
