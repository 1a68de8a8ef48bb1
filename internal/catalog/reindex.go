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
	var entries [][]any
	last := after
	err := queryEach(ctx, tx, c.q(`SELECT f.id, f.element_id, d.doc FROM cat_files f JOIN cat_docs d ON d.id = f.id
		WHERE f.deleted = 0 AND f.id > ? ORDER BY f.id LIMIT ?`), []any{after, reindexPage}, func(r *sql.Rows) error {
		var element, doc string
		if err := r.Scan(&last, &element, &doc); err != nil {
			return err
		}
		f, err := decodeDoc("catalog.reindex", doc)
		if err != nil {
			return err
		}
		if c.pg() {
			entries = append(entries, []any{last, tsvectorOf(f, element)})
		} else {
			entries = append(entries, ftsRow(last, f, element))
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	head, tmpl, tail := ftsInsert, "(?, ?, ?, ?, ?, ?)", ""
	if c.pg() {
		head, tmpl, tail = `UPDATE cat_files AS f SET tsv = CAST(v.tsv AS tsvector) FROM (VALUES `,
			`(CAST(? AS BIGINT), ?)`, `) AS v (id, tsv) WHERE f.id = v.id`
	}
	if err := c.insertRows(ctx, tx, head, tmpl, tail, entries, nil); err != nil {
		return 0, 0, err
	}
	return len(entries), last, nil
}
