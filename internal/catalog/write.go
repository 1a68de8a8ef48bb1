package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// A journal page can hold thousands of entries, and on PostgreSQL every
// statement is a round trip, so a page is written in a few set-wise
// statements rather than a few per file: one read of the rows it touches,
// then multi-row inserts of the new state.

func (c *Catalog) pg() bool { return c.db.Dialect == sqldb.Postgres }

// change is the net effect of a batch on one file: the row the catalog held
// before it (nil if none) and the state that wins.
type change struct {
	before *row
	id     int64
	o      target
}

// write applies the states ts, in order, under the version rules, and
// returns how many files they changed.
func (c *Catalog) write(ctx context.Context, tx *sql.Tx, ts []target) (int, error) {
	if len(ts) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(ts))
	seen := map[string]bool{}
	for _, o := range ts {
		if !seen[o.fileID] {
			seen[o.fileID] = true
			ids = append(ids, o.fileID)
		}
	}
	held, err := c.load(ctx, tx, ids)
	if err != nil {
		return 0, err
	}
	// Run the rules over the batch in memory. Each state that applies
	// replaces the whole of a file's row, so only the last one is written.
	var (
		changes = map[string]*change{}
		order   []*change
		current = map[string]*row{}
	)
	for id, r := range held {
		current[id] = r
	}
	for _, o := range ts {
		r := current[o.fileID]
		if !applies(r, o) {
			continue
		}
		ch := changes[o.fileID]
		if ch == nil {
			ch = &change{before: held[o.fileID]}
			if ch.before != nil {
				ch.id = ch.before.id
			}
			changes[o.fileID] = ch
			order = append(order, ch)
		}
		ch.o = o
		current[o.fileID] = &row{id: ch.id, element: o.element, version: o.version, deleted: o.file == nil}
	}
	if len(order) == 0 {
		return 0, nil
	}

	var inserts, updates []*change
	for _, ch := range order {
		if ch.before == nil {
			inserts = append(inserts, ch)
		} else {
			updates = append(updates, ch)
		}
	}
	if err := c.insertFiles(ctx, tx, inserts); err != nil {
		return 0, err
	}
	if err := c.updateFiles(ctx, tx, updates); err != nil {
		return 0, err
	}
	return len(order), c.writeDetails(ctx, tx, order)
}

// load returns the rows the catalog holds for ids, by file id.
func (c *Catalog) load(ctx context.Context, tx *sql.Tx, ids []string) (map[string]*row, error) {
	held := make(map[string]*row, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxRows)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, c.q(`SELECT id, file_id, element_id, version, deleted FROM cat_files WHERE file_id IN (`+placeholders(n)+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				r       row
				fileID  string
				deleted int
			)
			if err := rows.Scan(&r.id, &fileID, &r.element, &r.version, &deleted); err != nil {
				rows.Close()
				return nil, err
			}
			r.deleted = deleted != 0
			held[fileID] = &r
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return held, nil
}

// fileColumns are the columns of cat_files that a state sets, in the order
// of columnValues.
var fileColumns = []string{"file_id", "element_id", "version", "deleted", "name_norm", "ext",
	"content_type", "size", "uploaded_by", "uploaded_at", "retention_policy", "expires_at"}

// columnValues returns the values of fileColumns for the state of ch,
// followed on PostgreSQL by the tsvector literal. A tombstone keeps only
// what the version rules need.
func (c *Catalog) columnValues(ch *change) []any {
	o := ch.o
	f := o.file
	if f == nil {
		v := []any{o.fileID, o.element, o.version, 1, "", "", "", int64(0), "", int64(0), "", nil}
		if c.pg() {
			v = append(v, nil)
		}
		return v
	}
	var expires any
	if f.ExpiresAt != nil {
		expires = nanos(*f.ExpiresAt)
	}
	v := []any{o.fileID, o.element, o.version, 0, fold(f.OriginalFilename), extOf(f.OriginalFilename),
		strings.ToLower(clean(f.ContentType)), f.Size, clean(f.UploadedBy), nanos(f.UploadedAt),
		clean(string(f.RetentionPolicy)), expires}
	if c.pg() {
		v = append(v, tsvectorOf(f, o.element))
	}
	return v
}

// insertFiles inserts the rows of files new to the catalog and learns
// their ids.
func (c *Catalog) insertFiles(ctx context.Context, tx *sql.Tx, inserts []*change) error {
	if len(inserts) == 0 {
		return nil
	}
	cols := strings.Join(fileColumns, ", ")
	tmpl := "(" + placeholders(len(fileColumns)) + ")"
	if c.pg() {
		cols += ", tsv"
		tmpl = "(" + placeholders(len(fileColumns)) + ", CAST(? AS tsvector))"
	}
	byFileID := make(map[string]*change, len(inserts))
	rows := make([][]any, len(inserts))
	for i, ch := range inserts {
		rows[i] = c.columnValues(ch)
		byFileID[ch.o.fileID] = ch
	}
	return c.insertRows(ctx, tx, "INSERT INTO cat_files ("+cols+") VALUES ", tmpl, " RETURNING id, file_id", rows,
		func(r *sql.Rows) error {
			var (
				id     int64
				fileID string
			)
			if err := r.Scan(&id, &fileID); err != nil {
				return err
			}
			if ch := byFileID[fileID]; ch != nil {
				ch.id = id
			}
			return nil
		})
}

// updateFiles rewrites the rows of files the catalog held. Updates are the
// rare case of a journal (a file changes far less often than files are
// added), so they go one statement per file.
func (c *Catalog) updateFiles(ctx context.Context, tx *sql.Tx, updates []*change) error {
	if len(updates) == 0 {
		return nil
	}
	sets := make([]string, 0, len(fileColumns))
	for _, col := range fileColumns[1:] {
		sets = append(sets, col+" = ?")
	}
	if c.pg() {
		sets = append(sets, "tsv = CAST(? AS tsvector)")
	}
	stmt, err := tx.PrepareContext(ctx, c.q(`UPDATE cat_files SET `+strings.Join(sets, ", ")+` WHERE id = ?`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, ch := range updates {
		v := c.columnValues(ch)
		if _, err := stmt.ExecContext(ctx, append(v[1:], ch.id)...); err != nil {
			return err
		}
	}
	return nil
}

// writeDetails replaces the stored document and, on SQLite, the
// full-text and trigram entries of every changed file: it removes what the
// rows held before and inserts what live files hold now.
func (c *Catalog) writeDetails(ctx context.Context, tx *sql.Tx, order []*change) error {
	var (
		stale, staleText  []any
		docs, text, names [][]any
	)
	for _, ch := range order {
		if b := ch.before; b != nil {
			stale = append(stale, ch.id)
			if !b.deleted && !c.pg() {
				staleText = append(staleText, ch.id)
			}
		}
		f := ch.o.file
		if f == nil {
			continue
		}
		doc, err := json.Marshal(f)
		if err != nil {
			return errs.E(errs.Invalid, errs.Msg("encoding file %s: %v", ch.o.fileID, err))
		}
		docs = append(docs, []any{ch.id, string(doc)})
		if !c.pg() {
			text = append(text, ftsRow(ch.id, f, ch.o.element))
			names = append(names, []any{ch.id, fold(f.OriginalFilename)})
		}
	}
	if err := c.deleteIDs(ctx, tx, "DELETE FROM cat_docs WHERE id IN ", stale); err != nil {
		return err
	}
	for _, table := range []string{"cat_fts", "cat_names"} {
		if len(staleText) == 0 {
			break
		}
		// FTS5 finds rows by rowid one at a time; an IN list would scan.
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM `+table+` WHERE rowid = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range staleText {
			if _, err := stmt.ExecContext(ctx, id); err != nil {
				return err
			}
		}
	}
	inserts := []struct {
		head, tmpl string
		rows       [][]any
	}{
		{"INSERT INTO cat_docs (id, doc) VALUES ", "(?, ?)", docs},
		{ftsInsert, "(?, ?, ?, ?, ?, ?)", text},
		{"INSERT INTO cat_names (rowid, name) VALUES ", "(?, ?)", names},
	}
	for _, in := range inserts {
		if err := c.insertRows(ctx, tx, in.head, in.tmpl, "", in.rows, nil); err != nil {
			return err
		}
	}
	return nil
}

// A live file's search entries: on SQLite its row of cat_fts, written by
// ftsInsert with ftsRow; on PostgreSQL the tsvector of its cat_files row.
const ftsInsert = "INSERT INTO cat_fts (rowid, name, tags, meta, body, facets) VALUES "

func ftsRow(id int64, f *artstore.File, element string) []any {
	x := fileFields(f)
	return []any{id, strings.Join(x.name, " "), strings.Join(x.tags, " "),
		strings.Join(x.meta, " "), strings.Join(x.body, " "), strings.Join(fileTerms(f, element), " ")}
}

func tsvectorOf(f *artstore.File, element string) string {
	x := fileFields(f)
	x.terms = fileTerms(f, element)
	return x.tsvector()
}
