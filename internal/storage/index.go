package storage

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// index is an element's view of its SQL database: the file cache, the
// journal, the intents and the journal state, all keyed by element id so
// that many elements can share one PostgreSQL database.
type index struct {
	db *sqldb.DB
	id string
}

func (x *index) q(s string) string { return x.db.Rebind(s) }

// intent ops.
const (
	opPut    = "put"
	opUpdate = "update"
	opDelete = "delete"
)

type intent struct {
	FileID string
	Op     string
	Key    string
}

// state loads the journal's identity and head, creating them on first use.
func (x *index) state(ctx context.Context, newJournalID func() string) (journalID string, lastSeq int64, err error) {
	row := x.db.QueryRowContext(ctx, x.q(`SELECT journal_id, last_seq FROM se_state WHERE element_id = ?`), x.id)
	err = row.Scan(&journalID, &lastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		journalID = newJournalID()
		_, err = x.db.ExecContext(ctx, x.q(`INSERT INTO se_state (element_id, journal_id, last_seq) VALUES (?, ?, 0)`), x.id, journalID)
		return journalID, 0, err
	}
	return journalID, lastSeq, err
}

// get returns the cached metadata of a file.
func (x *index) get(ctx context.Context, fileID string) (*artstore.File, error) {
	var meta string
	err := x.db.QueryRowContext(ctx, x.q(`SELECT meta FROM se_files WHERE element_id = ? AND file_id = ?`), x.id, fileID).Scan(&meta)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E("storage.get", errs.NotExist, errs.Msg("file %s not found", fileID))
	}
	if err != nil {
		return nil, errs.E("storage.get", errs.Unavailable, err)
	}
	return decodeMeta(meta)
}

// holds tells whether a file is stored under key.
func (x *index) holds(ctx context.Context, key string) (bool, error) {
	var one int
	err := x.db.QueryRowContext(ctx, x.q(`SELECT 1 FROM se_files WHERE element_id = ? AND blob_key = ? LIMIT 1`), x.id, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func decodeMeta(s string) (*artstore.File, error) {
	var f artstore.File
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return nil, errs.E("storage.decodeMeta", errs.Internal, err)
	}
	return &f, nil
}

// list returns limit files in the order of a list, newest first or with
// byID in file id order, from offset or, with after set, from the file
// after that position (offset is then 0).
func (x *index) list(ctx context.Context, limit, offset int, after *listPos, byID bool) ([]artstore.File, error) {
	where, args, order := "element_id = ?", []any{x.id}, "uploaded_at DESC, file_id"
	switch {
	case byID:
		// File ids are canonical UUIDs, which every collation orders as
		// bytes, as catalogs do.
		order = "file_id"
		if after != nil {
			where += " AND file_id > ?"
			args = append(args, after.fileID)
		}
	case after != nil:
		where += " AND (uploaded_at < ? OR uploaded_at = ? AND file_id > ?)"
		args = append(args, after.uploadedAt, after.uploadedAt, after.fileID)
	}
	rows, err := x.db.QueryContext(ctx, x.q(`SELECT meta FROM se_files WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`), append(args, limit, offset)...)
	if err != nil {
		return nil, errs.E("storage.list", errs.Unavailable, err)
	}
	defer rows.Close()
	items := []artstore.File{}
	for rows.Next() {
		var meta string
		if err := rows.Scan(&meta); err != nil {
			return nil, errs.E("storage.list", errs.Unavailable, err)
		}
		f, err := decodeMeta(meta)
		if err != nil {
			return nil, err
		}
		items = append(items, *f)
	}
	return items, rows.Err()
}

// totals returns the number of files and their total size.
func (x *index) totals(ctx context.Context) (count, bytes int64, err error) {
	err = x.db.QueryRowContext(ctx, x.q(`SELECT COUNT(*), COALESCE(SUM(size), 0) FROM se_files WHERE element_id = ?`), x.id).Scan(&count, &bytes)
	return count, bytes, err
}

// each calls fn for every indexed file, in file id order. It reads a page at
// a time and runs fn between pages, so fn never runs while a query holds one
// of SQLite's few connections.
func (x *index) each(ctx context.Context, fn func(*artstore.File) error) error {
	const page = 1000
	var after *listPos
	for {
		files, err := x.list(ctx, page, 0, after, true)
		if err != nil {
			return err
		}
		for i := range files {
			if err := fn(&files[i]); err != nil {
				return err
			}
		}
		if len(files) < page {
			return nil
		}
		after = &listPos{fileID: files[len(files)-1].FileID}
	}
}

// intents returns the recorded intents, for start-up recovery.
func (x *index) intents(ctx context.Context) ([]intent, error) {
	rows, err := x.db.QueryContext(ctx, x.q(`SELECT file_id, op, blob_key FROM se_intents WHERE element_id = ? ORDER BY created_at`), x.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []intent
	for rows.Next() {
		var in intent
		if err := rows.Scan(&in.FileID, &in.Op, &in.Key); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// changes returns journal entries after since.
func (x *index) changes(ctx context.Context, since int64, limit int) ([]artstore.Change, error) {
	rows, err := x.db.QueryContext(ctx, x.q(`SELECT seq, type, file_id, version, at, file FROM se_journal WHERE element_id = ? AND seq > ? ORDER BY seq LIMIT ?`), x.id, since, limit)
	if err != nil {
		return nil, errs.E("storage.changes", errs.Unavailable, err)
	}
	defer rows.Close()
	items := []artstore.Change{}
	for rows.Next() {
		var (
			c    artstore.Change
			at   int64
			file sql.NullString
		)
		if err := rows.Scan(&c.Seq, &c.Type, &c.FileID, &c.Version, &at, &file); err != nil {
			return nil, errs.E("storage.changes", errs.Unavailable, err)
		}
		c.At = time.Unix(0, at).UTC()
		if file.Valid {
			if c.File, err = decodeMeta(file.String); err != nil {
				return nil, err
			}
		}
		items = append(items, c)
	}
	return items, rows.Err()
}

// The statements below run inside a committer transaction.

func (x *index) putIntent(tx *sql.Tx, in intent) error {
	_, err := tx.Exec(x.q(`INSERT INTO se_intents (element_id, file_id, op, blob_key, created_at) VALUES (?, ?, ?, ?, ?)`),
		x.id, in.FileID, in.Op, in.Key, time.Now().UnixNano())
	return err
}

func (x *index) dropIntent(tx *sql.Tx, fileID string) error {
	_, err := tx.Exec(x.q(`DELETE FROM se_intents WHERE element_id = ? AND file_id = ?`), x.id, fileID)
	return err
}

func (x *index) upsertFile(tx *sql.Tx, f *artstore.File) error {
	meta, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = tx.Exec(x.q(`INSERT INTO se_files (element_id, file_id, blob_key, size, uploaded_at, version, meta) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (element_id, file_id) DO UPDATE SET blob_key = excluded.blob_key, size = excluded.size,
		uploaded_at = excluded.uploaded_at, version = excluded.version, meta = excluded.meta`),
		x.id, f.FileID, f.Key(), f.Size, f.UploadedAt.UnixNano(), f.Version, string(meta))
	return err
}

func (x *index) deleteFile(tx *sql.Tx, fileID string) error {
	_, err := tx.Exec(x.q(`DELETE FROM se_files WHERE element_id = ? AND file_id = ?`), x.id, fileID)
	return err
}

func (x *index) appendJournal(tx *sql.Tx, c *artstore.Change) error {
	var file any
	if c.File != nil {
		b, err := json.Marshal(c.File)
		if err != nil {
			return err
		}
		file = string(b)
	}
	_, err := tx.Exec(x.q(`INSERT INTO se_journal (element_id, seq, type, file_id, version, at, file) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		x.id, c.Seq, string(c.Type), c.FileID, c.Version, c.At.UnixNano(), file)
	return err
}

func (x *index) setHead(tx *sql.Tx, journalID string, lastSeq int64) error {
	_, err := tx.Exec(x.q(`UPDATE se_state SET journal_id = ?, last_seq = ? WHERE element_id = ?`), journalID, lastSeq, x.id)
	return err
}

// reset empties the element's cache and journal, for a rebuild.
func (x *index) reset(tx *sql.Tx) error {
	for _, table := range []string{"se_files", "se_journal", "se_intents"} {
		if _, err := tx.Exec(x.q(`DELETE FROM `+table+` WHERE element_id = ?`), x.id); err != nil {
			return err
		}
	}
	return nil
}
