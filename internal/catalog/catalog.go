// Package catalog is ArtStore's file catalog: the central registry of every
// file and the search index over them, kept in one SQL database (SQLite with
// FTS5, or PostgreSQL with tsvector and GIN). It follows the journals of the
// storage elements: for each element it owns a durable cursor, and it
// applies journal pages idempotently, never letting an older version of a
// file overwrite a newer one, including when a file moves from one element
// to another. Like every database in ArtStore it is a cache that can be
// rebuilt from the elements.
package catalog

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Catalog is the file catalog on one database. It is safe for concurrent
// use.
type Catalog struct {
	db    *sqldb.DB
	stmts *stmts // nil on PostgreSQL
}

// Open migrates the catalog's tables in db and returns the catalog.
func Open(ctx context.Context, db *sqldb.DB) (*Catalog, error) {
	const op = "catalog.Open"
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "catalog_schema_version"); err != nil {
		return nil, errs.E(op, err)
	}
	c := &Catalog{db: db}
	if db.Dialect == sqldb.SQLite {
		c.stmts = newStmts(db.DB)
	}
	if err := c.reindex(ctx); err != nil {
		return nil, sqldb.Err(op, err)
	}
	return c, nil
}

func (c *Catalog) q(s string) string { return c.db.Rebind(s) }

// Cursor is where the catalog stands in one element's journal: "" and 0
// when it has never applied anything.
func (c *Catalog) Cursor(ctx context.Context, elementID string) (journalID string, seq int64, err error) {
	const op = "catalog.Cursor"
	if err := sqldb.CheckText(elementID); err != nil {
		return "", 0, errs.E(op, errs.Invalid, errs.Msg("element id %q %v", elementID, err))
	}
	err = c.db.QueryRowContext(ctx, c.q(`SELECT journal_id, seq FROM cat_cursors WHERE element_id = ?`), elementID).Scan(&journalID, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, sqldb.Err(op, err)
	}
	return journalID, seq, nil
}

// Get returns a live file. A file the catalog never saw, or saw deleted,
// does not exist.
func (c *Catalog) Get(ctx context.Context, fileID string) (*artstore.File, error) {
	const op = "catalog.Get"
	var doc string
	err := c.db.QueryRowContext(ctx, c.q(`SELECT d.doc FROM cat_files f JOIN cat_docs d ON d.id = f.id
		WHERE f.file_id = ? AND f.deleted = 0`), clean(fileID)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(op, errs.NotExist, errs.Msg("file %s not found", fileID))
	}
	if err != nil {
		return nil, sqldb.Err(op, err)
	}
	return decodeDoc(op, doc)
}

// filesPage is how many files Files reads at a time.
const filesPage = 1000

// Files calls fn for every live file the catalog places on elementID, in
// file id order, for reconciliation with the element. It reads a page at a
// time and calls fn between reads, so fn never runs while a query holds one
// of SQLite's few connections. An error from fn stops the walk and is
// returned.
func (c *Catalog) Files(ctx context.Context, elementID string, fn func(fileID string, version int64) error) error {
	const op = "catalog.Files"
	type entry struct {
		id      string
		version int64
	}
	after := ""
	for {
		var page []entry
		rows, err := c.db.QueryContext(ctx, c.q(`SELECT file_id, version FROM cat_files
			WHERE deleted = 0 AND element_id = ? AND file_id > ? ORDER BY file_id LIMIT ?`), clean(elementID), after, filesPage)
		err = eachRow(rows, err, func(r *sql.Rows) error {
			var e entry
			err := r.Scan(&e.id, &e.version)
			page = append(page, e)
			return err
		})
		if err != nil {
			return sqldb.Err(op, err)
		}
		for _, e := range page {
			if err := fn(e.id, e.version); err != nil {
				return err
			}
		}
		if len(page) < filesPage {
			return nil
		}
		after = page[len(page)-1].id
	}
}

// Expired returns up to limit live temporary files whose expiry is earlier
// than before, the earliest first (then by file id), for the garbage
// collector. With after set, the files come after that one in this order,
// so that a collector walks past files it could not remove.
func (c *Catalog) Expired(ctx context.Context, before time.Time, after *artstore.File, limit int) ([]artstore.File, error) {
	const op = "catalog.Expired"
	if limit < 1 {
		return nil, errs.E(op, errs.Invalid, errs.Msg("limit %d is not positive", limit))
	}
	afterExp, afterID := int64(math.MinInt64), ""
	if after != nil && after.ExpiresAt != nil {
		afterExp, afterID = nanos(*after.ExpiresAt), clean(after.FileID)
	}
	rows, err := c.db.QueryContext(ctx, c.q(`SELECT d.doc FROM cat_files f JOIN cat_docs d ON d.id = f.id
		WHERE f.deleted = 0 AND f.retention_policy = ? AND f.expires_at < ?
		AND (f.expires_at > ? OR f.expires_at = ? AND f.file_id > ?)
		ORDER BY f.expires_at, f.file_id LIMIT ?`), string(artstore.Temporary), nanos(before), afterExp, afterExp, afterID, limit)
	if err != nil {
		return nil, sqldb.Err(op, err)
	}
	defer rows.Close()
	out := []artstore.File{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, sqldb.Err(op, err)
		}
		f, err := decodeDoc(op, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Err(op, err)
	}
	return out, nil
}

// nanos returns t in Unix nanoseconds, clamped to what an int64 holds:
// time.UnixNano is undefined outside the years 1678 to 2262, and a zero
// time or a far-future query bound must still compare correctly.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func decodeDoc(op, doc string) (*artstore.File, error) {
	var f artstore.File
	if err := json.Unmarshal([]byte(doc), &f); err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return &f, nil
}
