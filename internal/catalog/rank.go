package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
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
const RankWindow = 1000

// ranked returns the ids of one page of full-text matches in order of
// relevance, and the number of matches. The windows come first: when the
// page reaches the last window, its size gives the number of matches, which
// then needs no count of its own.
func (c *Catalog) ranked(ctx context.Context, tx *sql.Tx, s *search, limit, offset int) ([]int64, int64, error) {
	ids := make([]int64, 0, min(limit, RankWindow))
	total := int64(-1)
	for len(ids) < limit {
		win := offset / RankWindow
		matches, err := c.window(ctx, tx, s, win)
		if err != nil {
			return nil, 0, err
		}
		last := len(matches) < RankWindow
		if last && (len(matches) > 0 || win == 0) {
			total = int64(win*RankWindow + len(matches))
		}
		skip := offset - win*RankWindow
		want := min(limit-len(ids), len(matches)-skip)
		if want <= 0 {
			break
		}
		page, err := c.rankWindow(ctx, tx, s, matches, want, skip)
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, page...)
		offset += len(page)
		if last || len(page) < want {
			break
		}
	}
	if total < 0 {
		n, err := c.count(ctx, tx, s)
		if err != nil {
			return nil, 0, err
		}
		total = n
	}
	return ids, total, nil
}

// window returns the ids of the matches in window win: matches newest
// first, RankWindow to a window.
func (c *Catalog) window(ctx context.Context, tx *sql.Tx, s *search, win int) ([]int64, error) {
	var (
		where, args = s.where()
		query       = `SELECT f.id FROM cat_files f WHERE ` + where + ` ORDER BY f.id DESC`
	)
	if !s.pg {
		where, args = s.ftsWhere()
		query = `SELECT rowid FROM cat_fts WHERE ` + where + ` ORDER BY rowid DESC`
	}
	return c.ids(ctx, tx, query+` LIMIT ? OFFSET ?`, append(args, RankWindow, win*RankWindow)...)
}

// rankWindow returns the ids of limit matches from offset among the
// matches of one window, ranked by relevance. Equally relevant files come
// newest first, then in file id order. The window's ids stand in for the
// search's conditions, which they already meet.
func (c *Catalog) rankWindow(ctx context.Context, tx *sql.Tx, s *search, window []int64, limit, offset int) ([]int64, error) {
	if s.pg {
		// ts_rank is higher for better matches.
		order := "DESC"
		if s.dir == "ASC" {
			order = "ASC"
		}
		return c.ids(ctx, tx, `SELECT f.id FROM cat_files f WHERE f.id = ANY($1)
			ORDER BY ts_rank(f.tsv, CAST($2 AS tsquery)) `+order+relevanceTies+` LIMIT $3 OFFSET $4`,
			window, s.text, limit, offset)
	}
	// bm25 is lower for better matches. The bounds on the rowid let FTS5
	// visit the window's stretch of matches only.
	order := "ASC"
	if s.dir == "ASC" {
		order = "DESC"
	}
	list, err := json.Marshal(window)
	if err != nil {
		return nil, err
	}
	return c.ids(ctx, tx, `SELECT m.id FROM (SELECT rowid AS id, `+bm25+` AS r FROM cat_fts
		WHERE cat_fts MATCH ? AND cat_fts.rowid >= ? AND cat_fts.rowid <= ?
		AND +cat_fts.rowid IN (SELECT value FROM json_each(?))) m
		CROSS JOIN cat_files f WHERE f.id = m.id
		ORDER BY m.r `+order+relevanceTies+` LIMIT ? OFFSET ?`,
		s.text, window[len(window)-1], window[0], string(list), limit, offset)
}

// ids runs a query that yields ids, and returns them in order.
func (c *Catalog) ids(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, c.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
