package catalog

import (
	"context"
	"database/sql"
)

// RankWindow is how many matches a search by relevance ranks together.
//
// Ranking a match costs far more than finding it: SQLite's bm25 looks up
// the sizes of the file's fields and PostgreSQL's ts_rank reads its
// tsvector, about a microsecond each, so ranking every match of a common
// word among a million files would take a second. Relevance therefore
// orders the matches in windows: the RankWindow most recently catalogued
// matches come first, ranked by relevance, then the next RankWindow, and so
// on. A search with fewer matches than RankWindow is ranked whole, and the
// cost of any page stays bounded whatever the number of files. The order is
// a total one, the same for every page, so pages never overlap or skip.
const RankWindow = 500

// rankFunc returns limit matches from offset in window win ranked by
// relevance, and the number of matches in the window (0 when it returns
// none).
type rankFunc func(ctx context.Context, tx *sql.Tx, s *search, win, limit, offset int) ([]int64, int, error)

// ranked returns the ids of one page of full-text matches in order of
// relevance, taking each window the page spans from rank, and the number
// of matches when the page reaches the last window, whose size then tells
// it; -1 when it does not.
func (c *Catalog) ranked(ctx context.Context, tx *sql.Tx, s *search, rank rankFunc, limit, offset int) ([]int64, int64, error) {
	ids := make([]int64, 0, min(limit, RankWindow))
	for len(ids) < limit {
		win := offset / RankWindow
		skip := offset - win*RankWindow
		page, n, err := rank(ctx, tx, s, win, limit-len(ids), skip)
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, page...)
		offset += len(page)
		// n is the size of the window, known when the page has a match
		// or the window is the first.
		known := len(page) > 0 || (win == 0 && skip == 0)
		switch {
		case !known:
			return ids, -1, nil
		case n < RankWindow:
			return ids, int64(win*RankWindow + n), nil
		}
	}
	return ids, -1, nil
}

// rankIDs returns, on PostgreSQL, limit of the files with the given ids
// from offset, in order of relevance.
func (c *Catalog) rankIDs(ctx context.Context, tx *sql.Tx, s *search, window []int64, limit, offset int) ([]int64, error) {
	query := `SELECT f.id FROM cat_files f WHERE f.id = ANY(?)
		ORDER BY ` + tsRankOrder(s) + ` LIMIT ? OFFSET ?`
	return c.ids(ctx, tx, nil, query, window, s.text, limit, offset)
}

// tsRankOrder is the ORDER BY clause of PostgreSQL's relevance, whose one
// argument is the tsquery: ts_rank is higher for better matches, so it runs
// the way the search asks.
func tsRankOrder(s *search) string {
	return "ts_rank(f.tsv, CAST(? AS tsquery)) " + s.dir + relevanceTies
}

// rankFTS returns, on SQLite, limit matches from offset in window win
// ranked by relevance, and the number of matches in the window (0 when it
// returns none). One statement finds the window's matches and ranks them,
// so FTS5 computes bm25 for those matches only. Equally relevant files come
// newest first, then in file id order.
func (c *Catalog) rankFTS(ctx context.Context, tx *sql.Tx, s *search, win, limit, offset int) ([]int64, int, error) {
	// bm25 is lower for better matches.
	order := "ASC"
	if s.dir == "ASC" {
		order = "DESC"
	}
	where, args := s.ftsWhere()
	query := `SELECT m.id, COUNT(*) OVER () FROM (SELECT rowid AS id, ` + bm25 + ` AS r FROM cat_fts
		WHERE ` + where + ` ORDER BY rowid DESC LIMIT ? OFFSET ?) m
		CROSS JOIN cat_files f WHERE f.id = m.id
		ORDER BY m.r ` + order + relevanceTies + ` LIMIT ? OFFSET ?`
	var n int
	ids, err := c.ids(ctx, tx, &n, query, append(args, RankWindow, win*RankWindow, limit, offset)...)
	return ids, n, err
}

// rankPG returns, on PostgreSQL, what rankFTS does, in one statement as
// well: the subquery finds the window's matches by whichever plan suits
// the words, and ts_rank then reads the tsvectors of those rows only.
func (c *Catalog) rankPG(ctx context.Context, tx *sql.Tx, s *search, win, limit, offset int) ([]int64, int, error) {
	where, args := s.where()
	query := `SELECT f.id, COUNT(*) OVER () FROM (SELECT f.id, f.tsv, f.uploaded_at, f.file_id FROM cat_files f
		WHERE ` + where + ` ORDER BY f.id DESC LIMIT ? OFFSET ?) f
		ORDER BY ` + tsRankOrder(s) + ` LIMIT ? OFFSET ?`
	var n int
	ids, err := c.ids(ctx, tx, &n, query, append(args, RankWindow, win*RankWindow, s.text, limit, offset)...)
	return ids, n, err
}

// ids runs a search's query that yields ids in order and returns them.
// With window set, the query yields the size of their window in a second
// column, which ids stores there (0 when the query yields nothing).
func (c *Catalog) ids(ctx context.Context, tx *sql.Tx, window *int, query string, args ...any) ([]int64, error) {
	var ids []int64
	rows, err := c.stmts.query(ctx, tx, c.q(query), args...)
	err = eachRow(rows, err, func(r *sql.Rows) error {
		var id int64
		dest := []any{&id}
		if window != nil {
			dest = append(dest, window)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}
