package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Search returns a page of the live files that match q, and how many match
// in all.
func (c *Catalog) Search(ctx context.Context, q Query) (Result, error) {
	raw, err := c.SearchRaw(ctx, q)
	if err != nil {
		return Result{}, err
	}
	items := make([]artstore.File, len(raw.Items))
	for i, doc := range raw.Items {
		if err := json.Unmarshal(doc, &items[i]); err != nil {
			return Result{}, errs.E("catalog.Search", errs.Internal, err)
		}
	}
	return Result{Items: items, Total: raw.Total, TotalExact: raw.TotalExact,
		Limit: raw.Limit, Offset: raw.Offset, HasMore: raw.HasMore}, nil
}

// SearchRaw is Search with each file as the JSON the catalog stores.
func (c *Catalog) SearchRaw(ctx context.Context, q Query) (RawResult, error) {
	const op = "catalog.Search"
	if err := q.Normalize(); err != nil {
		return RawResult{}, errs.E(op, err)
	}
	s := c.translate(&q)
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return RawResult{}, sqldb.Err(op, err)
	}
	defer conn.Close()
	// Read in one snapshot, so that the total, the page and the documents
	// agree even while journals are being applied.
	opts := &sql.TxOptions{ReadOnly: true}
	if c.pg() {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return RawResult{}, sqldb.Err(op, err)
	}
	defer tx.Rollback()

	var (
		ids   []int64
		total int64 = -1 // not counted yet
		exact bool
		// One more than the page is read, to learn whether a match
		// follows.
		limit = q.Limit + 1
	)
	if s.pg && s.text != nil {
		ids, total, exact, err = c.countedPage(ctx, tx, s, limit, q.Offset)
	}
	switch {
	case err != nil || exact:
	case s.relevance:
		rank := c.rankFTS
		if s.pg {
			rank = c.rankPG
		}
		var n int64
		if ids, n, err = c.ranked(ctx, tx, s, rank, limit, q.Offset); n >= 0 {
			total, exact = n, true
		}
	default:
		// The count comes first: a page past the end then needs no
		// query, and how the page is best found depends on how many files
		// match.
		if total < 0 {
			total, exact, err = c.count(ctx, tx, s)
		}
		if err == nil && (total > int64(q.Offset) || !exact) {
			ids, err = c.page(ctx, tx, s, limit, q.Offset, total)
		}
	}
	if err == nil && total < 0 {
		total, exact, err = c.count(ctx, tx, s)
	}
	if err != nil {
		return RawResult{}, sqldb.Err(op, err)
	}
	more := len(ids) > q.Limit
	ids = ids[:min(len(ids), q.Limit)]
	if !exact {
		// The page may tell more than the capped count.
		seen := int64(q.Offset) + int64(len(ids))
		switch {
		case !more && len(ids) > 0:
			total, exact = seen, true
		case more:
			total = max(total, seen+1)
		}
	}
	items, err := c.docs(ctx, tx, ids)
	if err != nil {
		return RawResult{}, sqldb.Err(op, err)
	}
	if err := tx.Commit(); err != nil {
		return RawResult{}, sqldb.Err(op, err)
	}
	return RawResult{
		Items:      items,
		Total:      total,
		TotalExact: exact,
		Limit:      q.Limit,
		Offset:     q.Offset,
		HasMore:    more,
	}, nil
}

// countedPage returns, on PostgreSQL, the page of a search whose matches
// the full-text index finds, and how many match, from a single pass over
// the matches when there are no more than CountLimit; with more, it returns
// no page, the capped count and exact false.
//
// Every match found through the GIN index costs a visit to its table row,
// which PostgreSQL makes to check that the row is visible, and those
// visits are most of what such a search costs. One statement therefore
// counts the matches and collects the page's ids in its order in the same
// visits. For relevance it collects the windows the page spans, newest
// match first, and ts_rank then orders each window from its ids. Finding
// the page by walking an index in order instead would visit the row of
// every file walked, match or not; with more matches than CountLimit,
// walking meets a match every few files and is the cheaper way.
func (c *Catalog) countedPage(ctx context.Context, tx *sql.Tx, s *search, limit, offset int) ([]int64, int64, bool, error) {
	// The page, or the windows it spans, are elements lo to hi of the
	// matches in order, counted from 1; none past CountLimit is needed.
	cols, order, lo, hi := "f.id, "+s.by+", f.file_id", s.order(true), offset+1, offset+limit
	first := offset / RankWindow
	if s.relevance {
		cols, order = "f.id", "f.id DESC"
		lo, hi = first*RankWindow+1, ((offset+limit-1)/RankWindow+1)*RankWindow
	}
	lo, hi = min(lo, countLimit+1), min(hi, countLimit)
	where, args := s.where()
	// The ids come as text: database/sql scans no arrays.
	query := `SELECT COUNT(*), COALESCE(array_to_string((array_agg(f.id ORDER BY ` + order + `))[?:?], ','), '')
		FROM (SELECT ` + cols + ` FROM cat_files f WHERE ` + where + ` LIMIT ?) f`
	args = append(append([]any{lo, hi}, args...), countLimit+1)
	var (
		n    int64
		list string
	)
	if err := c.stmts.queryRow(ctx, tx, c.q(query), args...).Scan(&n, &list); err != nil {
		return nil, 0, false, err
	}
	if n > int64(countLimit) {
		return nil, int64(countLimit), false, nil
	}
	ids, err := parseIDs(list)
	if err != nil || !s.relevance {
		return ids, n, true, err
	}
	// ids holds the windows from first on, in order; ts_rank orders each
	// the page reaches.
	page, _, err := c.ranked(ctx, tx, s, func(ctx context.Context, tx *sql.Tx, s *search, win, limit, offset int) ([]int64, int, error) {
		lo := min((win-first)*RankWindow, len(ids))
		window := ids[lo:min(lo+RankWindow, len(ids))]
		if len(window) == 0 {
			return nil, 0, nil // past the last match
		}
		ranked, err := c.rankIDs(ctx, tx, s, window, limit, offset)
		return ranked, len(window), err
	}, limit, offset)
	return page, n, true, err
}

// parseIDs reads a comma-separated list of ids.
func parseIDs(list string) ([]int64, error) {
	if list == "" {
		return nil, nil
	}
	fields := strings.Split(list, ",")
	ids := make([]int64, len(fields))
	for i, f := range fields {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// countLimit is CountLimit, which tests lower.
var countLimit = CountLimit

// count returns the number of matches up to CountLimit, and whether that
// is all of them. (PostgreSQL counts full-text matches in countedPage.)
func (c *Catalog) count(ctx context.Context, tx *sql.Tx, s *search) (int64, bool, error) {
	where, args := s.where()
	matches := `SELECT 1 FROM cat_files f WHERE ` + where
	switch {
	case s.text == nil:
	case !s.pg && (s.words || len(s.conds) == 0):
		// The full-text index holds live files only, so SQLite counts
		// the matches there without looking up a single file. Filter
		// terms alone with conditions on cat_files are counted there
		// instead, from the few files the terms find.
		where, args = s.ftsWhere()
		matches = `SELECT 1 FROM cat_fts WHERE ` + where
	}
	var n int64
	limit := int64(countLimit)
	err := c.stmts.queryRow(ctx, tx, c.q(`SELECT COUNT(*) FROM (`+matches+` LIMIT ?) m`), append(args, limit+1)...).Scan(&n)
	return min(n, limit), n <= limit, err
}

// page returns the ids of one page of matches in the order of a sort key.
// total is the number of matches.
func (c *Catalog) page(ctx context.Context, tx *sql.Tx, s *search, limit, offset int, total int64) ([]int64, error) {
	var (
		from        = "cat_files f"
		where, args = s.where()
	)
	walk, err := c.walkSortIndex(ctx, tx, limit, offset, total)
	if err != nil {
		return nil, err
	}
	switch {
	case walk && !s.pg:
		from = "cat_files f INDEXED BY " + s.sortIndex
	case !walk && s.pg:
		// OFFSET 0 keeps PostgreSQL from planning the matches with the
		// LIMIT in mind, which would make it walk the sort index.
		from = "(SELECT f.id, " + s.by + ", f.file_id FROM cat_files f WHERE " + where + " OFFSET 0) f"
		where = "TRUE"
	}
	query := `SELECT f.id FROM ` + from + ` WHERE ` + where + ` ORDER BY ` + s.order(walk) + ` LIMIT ? OFFSET ?`
	return c.ids(ctx, tx, nil, query, append(args, limit, offset)...)
}

// walkSortIndex decides how to find a page of matches: by walking the index
// of the sort key in order and stopping once the page is full, or by
// collecting every match through the most selective condition and sorting
// them. Walking visits about (offset+limit) × files / matches index
// entries, which carry the columns searches filter on; collecting looks up
// and sorts every match, which costs several times more per row. The
// planners guess at the number of matches, SQLite's blindly and
// PostgreSQL's as if conditions were independent, and a wrong guess costs a
// hundredfold; the catalog knows it, having counted them.
func (c *Catalog) walkSortIndex(ctx context.Context, tx *sql.Tx, limit, offset int, total int64) (bool, error) {
	const collectCost = 4 // the cost of collecting a match, in walked entries
	var files int64       // tombstones included; the estimate need not be exact
	if err := c.stmts.queryRow(ctx, tx, `SELECT COALESCE(MAX(id), 0) FROM cat_files`).Scan(&files); err != nil {
		return false, err
	}
	walked := float64(offset+limit) * float64(files) / float64(total)
	return walked < collectCost*float64(total), nil
}

// docs returns the stored JSON of the files with the given ids, in that
// order.
func (c *Catalog) docs(ctx context.Context, tx *sql.Tx, ids []int64) ([]json.RawMessage, error) {
	items := make([]json.RawMessage, 0, len(ids))
	if len(ids) == 0 {
		return items, nil
	}
	// One statement text whatever the number of ids, so that it is
	// prepared once.
	var (
		query     = `SELECT id, doc FROM cat_docs WHERE id = ANY($1)`
		arg   any = ids
	)
	if !c.pg() {
		list, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		query, arg = `SELECT id, doc FROM cat_docs WHERE id IN (SELECT value FROM json_each(?))`, string(list)
	}
	byID := make(map[int64]json.RawMessage, len(ids))
	rows, err := c.stmts.query(ctx, tx, query, arg)
	err = eachRow(rows, err, func(r *sql.Rows) error {
		var (
			id  int64
			doc []byte
		)
		err := r.Scan(&id, &doc)
		byID[id] = doc
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		// The documents were written by json.Marshal; a missing or
		// truncated one must not make the answer invalid JSON.
		doc := byID[id]
		if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
			return nil, errs.E("catalog.Search", errs.Internal, errs.Msg("file %d has no valid stored document", id))
		}
		items = append(items, doc)
	}
	return items, nil
}
