package catalog

import (
	"context"
	"database/sql"
)

// indexVersion is the version of how the catalog derives a file's search
// entries (its words and filter terms) from the file. A catalog written by
// an older version derives them again, from the documents it stores, when
// it opens.
//
//  1. words by field
//  2. filter terms
const indexVersion = 2

// reindexPage is how many files reindex rewrites per statement batch.
const reindexPage = 1000

// reindex brings the search entries of every live file to indexVersion,
// in one transaction: an interrupted reindex leaves the old version, and
// the next open starts again.
func (c *Catalog) reindex(ctx context.Context) error {
	var version int
	if err := c.db.QueryRowContext(ctx, `SELECT version FROM cat_index`).Scan(&version); err != nil {
		return err
	}
	if version >= indexVersion {
		return nil
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if !c.pg() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cat_fts (cat_fts) VALUES ('delete-all')`); err != nil {
			return err
		}
	}
	after := int64(0)
	for {
		n, last, err := c.reindexPage(ctx, tx, after)
		if err != nil {
			return err
		}
		if n < reindexPage {
			break
		}
		after = last
	}
	if _, err := tx.ExecContext(ctx, c.q(`UPDATE cat_index SET version = ?`), indexVersion); err != nil {
		return err
	}
	return tx.Commit()
}

// reindexPage rewrites the search entries of up to reindexPage live files
// with ids above after, and returns how many it read and the last id.
func (c *Catalog) reindexPage(ctx context.Context, tx *sql.Tx, after int64) (int, int64, error) {
	rows, err := tx.QueryContext(ctx, c.q(`SELECT f.id, f.element_id, d.doc FROM cat_files f JOIN cat_docs d ON d.id = f.id
		WHERE f.deleted = 0 AND f.id > ? ORDER BY f.id LIMIT ?`), after, reindexPage)
	if err != nil {
		return 0, 0, err
	}
	type entry struct {
		id      int64
		element string
		doc     string
	}
	var page []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.id, &e.element, &e.doc); err != nil {
			rows.Close()
			return 0, 0, err
		}
		page = append(page, e)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	if len(page) == 0 {
		return 0, after, nil
	}
	var (
		text [][]any
		stmt *sql.Stmt
	)
	if c.pg() {
		if stmt, err = tx.PrepareContext(ctx, `UPDATE cat_files SET tsv = CAST($1 AS tsvector) WHERE id = $2`); err != nil {
			return 0, 0, err
		}
		defer stmt.Close()
	}
	for _, e := range page {
		f, err := decodeDoc("catalog.reindex", e.doc)
		if err != nil {
			return 0, 0, err
		}
		if !c.pg() {
			text = append(text, ftsRow(e.id, f, e.element))
			continue
		}
		x := fileFields(f)
		x.terms = fileTerms(f, e.element)
		if _, err := stmt.ExecContext(ctx, x.tsvector(), e.id); err != nil {
			return 0, 0, err
		}
	}
	if err := c.insertRows(ctx, tx, ftsInsert, "(?, ?, ?, ?, ?, ?)", "", text, nil); err != nil {
		return 0, 0, err
	}
	return len(page), page[len(page)-1].id, nil
}
