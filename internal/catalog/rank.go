package catalog

import (
	"context"
	"database/sql"
)

// rankedFTS returns, on SQLite, the ids of one page of full-text matches in
// order of relevance, and the number of matches.
//
// bm25 must be computed for every match: it is by far the largest cost of
// the search (FTS5 looks up each match's column sizes), so it is computed
// once, into a materialised table m, which then serves the count, the page
// and the tie-breaks alike. A file ranks among the first offset+limit only
// if its score is at least as good as the (offset+limit)-th best score, the
// cut; only the files that reach the cut, about a page of them plus any
// ties, are looked up in cat_files for the columns that break ties, and
// sorted on them. Ordering every match by score and tie-breaking columns,
// as one plain ORDER BY would, looks up and sorts all of them instead.
// Scores are compared as stored, so a file tied with the cut is kept
// whatever the floating-point value.
//
// A page past the end has no row to carry the count; total is then 0.
func (c *Catalog) rankedFTS(ctx context.Context, tx *sql.Tx, s *search, limit, offset int) ([]int64, int64, error) {
	where, args := s.ftsWhere()
	// bm25 is lower for better matches; the cut is the worst score that
	// still makes the first offset+limit, and when fewer files match, every
	// match makes it.
	order, reach := "ASC", "<="
	if s.dir == "ASC" {
		order, reach = "DESC", ">="
	}
	query := `WITH m AS MATERIALIZED (SELECT rowid AS id, ` + bm25 + ` AS r FROM cat_fts WHERE ` + where + `)
		SELECT m.id, (SELECT COUNT(*) FROM m)
		FROM m CROSS JOIN cat_files f
		WHERE f.id = m.id AND m.r ` + reach + ` COALESCE((SELECT r FROM m ORDER BY r ` + order + ` LIMIT 1 OFFSET ?), m.r)
		ORDER BY m.r ` + order + relevanceTies + ` LIMIT ? OFFSET ?`
	args = append(args, offset+limit-1, limit, offset)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	ids := make([]int64, 0, limit)
	var total int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &total); err != nil {
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	return ids, total, rows.Err()
}
