package catalog

import (
	"strings"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/sqldb"
)

// Relevance weighs a word found in a file's name above one found in its
// tags, metadata and description, in that order. SQLite passes the weights
// to bm25, one per cat_fts column; PostgreSQL's ts_rank applies its default
// weights to the A to D labels the tsvector carries for the same fields.
// Filter terms (the last column of cat_fts) weigh nothing.
const bm25 = "bm25(cat_fts, 10.0, 5.0, 2.0, 1.0, 0.0)"

// relevanceTies orders equally relevant files: the newest first, whichever
// way relevance runs.
const relevanceTies = ", f.uploaded_at DESC, f.file_id ASC"

// minTrigram is the shortest filename search an index of trigrams serves.
const minTrigram = 3

// search is a query translated to SQL over cat_files f. Every value the
// caller gave travels as an argument, never in the SQL text.
type search struct {
	pg bool
	// text is the full-text query in the dialect's syntax (an FTS5 query
	// or a tsquery literal) of the query's words and filter terms; nil
	// when it has neither.
	text any
	// words tells whether text holds words, not only filter terms.
	words bool
	// sets are subqueries that each yield the ids of the files meeting one
	// condition on a side table; only SQLite has them (a filename
	// substring).
	sets    []string
	setArgs []any
	// conds are the conditions on the columns of f.
	conds []string
	args  []any

	relevance bool
	// by is the sort column and dir "ASC" or "DESC"; the file id breaks
	// ties in the same direction.
	by, dir string
	// sortIndex is the SQLite index that holds live files in by order.
	sortIndex string
}

// where returns the conditions on cat_files f that a match meets, and
// their arguments.
func (s *search) where() (string, []any) {
	var (
		conds = []string{"f.deleted = 0"} // which the partial indexes require
		args  []any
	)
	sets, setArgs := s.sets, s.setArgs
	if s.text != nil {
		if s.pg {
			conds = append(conds, "f.tsv @@ CAST(? AS tsquery)")
			args = append(args, s.text)
		} else {
			sets = append([]string{"SELECT rowid FROM cat_fts WHERE cat_fts MATCH ?"}, sets...)
			setArgs = append([]any{s.text}, setArgs...)
		}
	}
	if len(sets) > 0 {
		// SQLite would look every id of the first set up in cat_files
		// before testing the next; intersecting the ids first, in their
		// own indexes, leaves only the matches to look up.
		conds = append(conds, "f.id IN ("+strings.Join(sets, " INTERSECT ")+")")
		args = append(args, setArgs...)
	}
	conds = append(conds, s.conds...)
	return strings.Join(conds, " AND "), append(args, s.args...)
}

// ftsWhere returns, for SQLite and a query with words, the conditions on
// cat_fts that select the matches, and their arguments. It reads cat_fts
// alone: the other conditions become sets of ids, gathered once through
// their indexes, that each full-text match is tested against. Looking every
// full-text match up in cat_files instead would cost far more for a common
// word. The unary plus keeps SQLite from handing the sets to FTS5 as rowid
// constraints, which would run the full-text query once per id.
func (s *search) ftsWhere() (string, []any) {
	where, args := "cat_fts MATCH ?", []any{s.text}
	if len(s.sets) > 0 {
		where += " AND +cat_fts.rowid IN (" + strings.Join(s.sets, " INTERSECT ") + ")"
		args = append(args, s.setArgs...)
	}
	if len(s.conds) > 0 {
		where += " AND +cat_fts.rowid IN (SELECT f.id FROM cat_files f WHERE f.deleted = 0 AND " + strings.Join(s.conds, " AND ") + ")"
		args = append(args, s.args...)
	}
	return where, args
}

// order returns the ORDER BY clause of a sort by a key (ranked orders by
// relevance). With indexed false,
// on SQLite, it hides the sort column from the planner, so that it cannot
// choose to walk the sort index.
func (s *search) order(indexed bool) string {
	plus := ""
	if !indexed && !s.pg {
		plus = "+"
	}
	return plus + s.by + " " + s.dir + ", " + plus + "f.file_id " + s.dir
}

// translate turns a normalised query into a search.
//
// Filters on tags and metadata always become filter terms of the full-text
// index: several of them are then one intersection in the index. With
// words, every filter that has a term becomes one, so that the index alone
// finds the matches; without words, filters on the columns of cat_files
// stay conditions there, where indexes in sort order serve them.
func (c *Catalog) translate(q *Query) *search {
	s := &search{pg: c.pg()}
	ws := queryWords(q.Query)
	s.words = len(ws) > 0
	var terms []string
	cond := func(cond string, args ...any) {
		s.conds = append(s.conds, cond)
		s.args = append(s.args, args...)
	}
	set := func(set string, args ...any) {
		s.sets = append(s.sets, set)
		s.setArgs = append(s.setArgs, args...)
	}
	// column filters on a column of cat_files: a term with words, else a
	// condition.
	column := func(kind, value, cnd string, args ...any) {
		if s.words {
			terms = append(terms, filterTerm(kind, value))
		} else {
			cond(cnd, args...)
		}
	}
	if name := fold(q.Filename); name != "" {
		switch {
		case s.pg:
			// LIKE, unlike strpos, can use the trigram index.
			cond(`f.name_norm LIKE ? ESCAPE '\'`, sqldb.LikeContains(name))
		case utf8.RuneCountInString(name) >= minTrigram:
			// A phrase of trigrams matches where they follow each other,
			// which is exactly where name occurs.
			set("SELECT rowid FROM cat_names WHERE cat_names MATCH ?", `"`+strings.ReplaceAll(name, `"`, `""`)+`"`)
		default:
			cond("instr(f.name_norm, ?) > 0", name)
		}
	}
	if q.FileExtension != "" {
		ext := fold(strings.TrimPrefix(q.FileExtension, "."))
		column(termExt, ext, "f.ext = ?", ext)
	}
	for _, t := range q.Tags {
		terms = append(terms, filterTerm(termTag, t))
	}
	for _, k := range sortedKeys(q.Metadata) {
		terms = append(terms, metaTerm(k, q.Metadata[k]))
	}
	if q.UploadedBy != "" {
		column(termUploader, q.UploadedBy, "f.uploaded_by = ?", q.UploadedBy)
	}
	if ct := strings.ToLower(q.ContentType); ct != "" && ct != "*" && ct != "*/*" {
		ct = strings.TrimSuffix(ct, "*")
		switch {
		case !strings.HasSuffix(ct, "/"):
			column(termType, ct, "f.content_type = ?", ct)
		case strings.IndexByte(ct, '/') == len(ct)-1:
			// A major type such as "image/", which a term holds.
			column(termMajorType, ct, "f.content_type >= ? AND f.content_type < ?", ct, ct[:len(ct)-1]+"0")
		default:
			// A range rather than LIKE, so that an index serves it in
			// both dialects: every type with the prefix sorts between
			// "a/b/" and "a/b0", '0' being the byte after '/'.
			cond("f.content_type >= ? AND f.content_type < ?", ct, ct[:len(ct)-1]+"0")
		}
	}
	if q.MinSize != nil {
		cond("f.size >= ?", *q.MinSize)
	}
	if q.MaxSize != nil {
		cond("f.size <= ?", *q.MaxSize)
	}
	if q.UploadedAfter != nil {
		cond("f.uploaded_at >= ?", nanos(*q.UploadedAfter))
	}
	if q.UploadedBefore != nil {
		cond("f.uploaded_at < ?", nanos(*q.UploadedBefore))
	}
	if q.RetentionPolicy != "" {
		column(termRetention, q.RetentionPolicy, "f.retention_policy = ?", q.RetentionPolicy)
	}
	if q.StorageElementID != "" {
		column(termElement, q.StorageElementID, "f.element_id = ?", q.StorageElementID)
	}
	if s.words || len(terms) > 0 {
		if s.pg {
			s.text = tsSearch(ws, terms)
		} else {
			s.text = ftsSearch(ws, terms)
		}
	}

	s.dir = "DESC"
	if q.SortOrder == "asc" {
		s.dir = "ASC"
	}
	switch {
	case q.SortBy == SortRelevance && s.words:
		s.relevance = true
	case q.SortBy == SortFilename:
		s.by, s.sortIndex = "f.name_norm", "cat_files_name"
	case q.SortBy == SortSize:
		s.by, s.sortIndex = "f.size", "cat_files_size"
	default:
		s.by, s.sortIndex = "f.uploaded_at", "cat_files_uploaded"
	}
	return s
}
