// Package sqldb is ArtStore's one SQL layer. It opens an embedded SQLite
// database or a PostgreSQL server from a DSN, rewrites query placeholders for
// the dialect, and applies each component's embedded migrations with goose.
// Queries are written once, with '?' placeholders and SQL both dialects
// accept; where they differ, callers branch on DB.Dialect.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/artstore/artstore/internal/errs"
)

// Dialect names an SQL dialect.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database and its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// IsPostgresDSN reports whether dsn names a PostgreSQL server.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL
// for PostgreSQL, otherwise a SQLite file, written as a path or as
// sqlite:PATH. A SQLite database is put in WAL mode with full
// synchronisation, so a committed transaction is durable.
func Open(ctx context.Context, dsn string) (*DB, error) {
	const op = "sqldb.Open"
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	if IsPostgresDSN(dsn) {
		dialect = Postgres
		var conns int
		if dsn, conns, err = poolSize(dsn); err != nil {
			return nil, errs.E(op, errs.Invalid, err)
		}
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(conns)
			db.SetMaxIdleConns(conns)
		}
	} else {
		dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errs.E(op, errs.Invalid, errs.Msg("empty SQLite path"))
		}
		path, err = filepath.Abs(path)
		if err != nil {
			return nil, errs.E(op, errs.Invalid, err)
		}
		// mmap lets every connection read through the system's page
		// cache instead of copying pages into its own 2 MB cache, and
		// temporary data (sorts, statement journals) stays in memory.
		q := "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)" +
			"&_pragma=mmap_size(1073741824)&_pragma=temp_store(MEMORY)&_txlock=immediate"
		db, err = sql.Open("sqlite", "file:"+path+q)
		if err == nil {
			// One writer at a time is all SQLite allows; a few readers
			// may run beside it in WAL mode.
			db.SetMaxOpenConns(4)
			db.SetMaxIdleConns(4)
		}
	}
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, errs.E(op, errs.Unavailable, fmt.Errorf("%s: %w", redact(dsn), err))
	}
	return &DB{DB: db, Dialect: dialect}, nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation
// of either database.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// DefaultPoolSize is how many connections a process opens to PostgreSQL at
// most, unless its DSN says otherwise with pool_max_conns.
const DefaultPoolSize = 16

// poolSize takes the pool_max_conns parameter, as pgx's own pool spells
// it, out of a PostgreSQL URL: every other parameter reaches the server,
// which would refuse this one. It returns the URL without it and the pool
// size, DefaultPoolSize when the URL does not set it.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// A *url.Error quotes the whole URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", 0, fmt.Errorf("%s: %w", redact(dsn), err)
	}
	q := u.Query()
	vals, ok := q["pool_max_conns"]
	if !ok {
		return dsn, DefaultPoolSize, nil
	}
	n, err := strconv.Atoi(vals[0])
	if len(vals) != 1 || err != nil || n < 1 || n > 1000 {
		return "", 0, errs.Msg("pool_max_conns must be one number from 1 to 1000, not %q", strings.Join(vals, ","))
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// redact removes a password from a DSN for use in messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				return dsn[:i+3] + rest[:c] + ":***" + rest[at:]
			}
		}
	}
	return dsn
}

// Rebind rewrites '?' placeholders as $1, $2, … for PostgreSQL. It does not
// look inside string literals; queries must not put '?' in them.
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Migrate applies the migrations of one component. fsys holds a directory
// per dialect ("sqlite", "postgres") of goose SQL files; table names the
// component's version table, so components migrate independently in one
// database.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, table string) error {
	const op = "sqldb.Migrate"
	sub, err := fs.Sub(fsys, string(db.Dialect))
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	var (
		dialect goose.Dialect
		opts    = []goose.ProviderOption{goose.WithTableName(table), goose.WithDisableGlobalRegistry(true)}
	)
	switch db.Dialect {
	case Postgres:
		dialect = goose.DialectPostgres
		// Several processes may start at once against one server.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(table)))
		if err != nil {
			return errs.E(op, errs.Internal, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		dialect = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(dialect, db.DB, sub, opts...)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	return nil
}

// lockID derives a stable advisory-lock id from a table name.
func lockID(table string) int64 {
	var h int64 = 5381
	for i := 0; i < len(table); i++ {
		h = h*33 + int64(table[i])
	}
	return h & 0x7fffffffffffffff
}

// Err classifies an error of the database for the caller of op: a
// cancelled or expired context, or an error the caller's own checks have
// already classified, keeps its kind; text the database cannot
// store (invalid UTF-8 or a NUL byte, which PostgreSQL refuses) is the
// caller's invalid input; anything else means the database is unavailable.
func Err(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded),
		errs.KindOf(err) != errs.Other:
		return errs.E(op, err)
	case errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05"):
		return errs.E(op, errs.Invalid, errs.Msg("text that is not valid UTF-8 or holds a NUL byte: %v", err))
	}
	return errs.E(op, errs.Unavailable, err)
}
