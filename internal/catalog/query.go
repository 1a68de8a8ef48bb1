package catalog

import (
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Query is a search request (POST /api/v1/search). Empty fields do not
// filter. All conditions must hold.
type Query struct {
	// Query is full text over the file name, description, tags and
	// metadata values. Every word must match the start of a word of the
	// file, ignoring case and accents.
	Query string `json:"query"`
	// Filename matches files whose original name contains it, ignoring
	// case and accents.
	Filename string `json:"filename"`
	// FileExtension matches the last extension of the original name, with
	// or without its leading dot, ignoring case.
	FileExtension string   `json:"file_extension"`
	Tags          []string `json:"tags"` // the file has every one of them
	UploadedBy    string   `json:"uploaded_by"`
	// ContentType matches exactly, or as a prefix when it ends with "/" or
	// "/*" ("image/" matches every image type), ignoring case.
	ContentType      string     `json:"content_type"`
	MinSize          *int64     `json:"min_size"`        // inclusive
	MaxSize          *int64     `json:"max_size"`        // inclusive
	UploadedAfter    *time.Time `json:"uploaded_after"`  // inclusive
	UploadedBefore   *time.Time `json:"uploaded_before"` // exclusive
	RetentionPolicy  string     `json:"retention_policy"`
	StorageElementID string     `json:"storage_element_id"`
	// Metadata matches files whose metadata has each key with a value
	// whose string form equals the given one: a JSON string as it is,
	// numbers and booleans as encoding/json writes them.
	Metadata map[string]string `json:"metadata"`
	// SortBy is relevance, uploaded_at, filename or size. It defaults to
	// relevance when Query has words, else to uploaded_at; relevance
	// without words orders by uploaded_at. Relevance ranks matches in
	// windows of RankWindow, the most recently catalogued first.
	SortBy    string `json:"sort_by"`
	SortOrder string `json:"sort_order"` // asc or desc; desc by default, asc for filename
	Limit     int    `json:"limit"`      // 1 to MaxLimit; DefaultLimit when 0
	Offset    int    `json:"offset"`     // 0 to MaxOffset
}

// Page is a page of search results, each item a file's metadata.
type Page[T any] struct {
	Items []T `json:"items"`
	// Total is the number of matches, not just this page's. It is exact
	// up to CountLimit; beyond, TotalExact is false and Total is a lower
	// bound: CountLimit, or more when the page itself shows more.
	Total      int64 `json:"total"`
	TotalExact bool  `json:"total_exact"`
	Limit      int   `json:"limit"`
	Offset     int   `json:"offset"`
	HasMore    bool  `json:"has_more"` // a match follows this page
}

// Result is a page of files, as clients read it.
type Result = Page[artstore.File]

// RawResult is a page of files as the catalog stores them: each item the
// JSON of an artstore.File, which a server can send on without decoding.
type RawResult = Page[json.RawMessage]

// The sort keys.
const (
	SortRelevance  = "relevance"
	SortUploadedAt = "uploaded_at"
	SortFilename   = "filename"
	SortSize       = "size"
)

// Limits of a query.
const (
	DefaultLimit   = 100
	MaxLimit       = 1000
	MaxOffset      = math.MaxInt32
	MaxQueryLength = 1000 // characters of Query
	MaxTags        = 20
	MaxMetadata    = 20
	// CountLimit is how many matches a search counts exactly. Counting
	// costs a little per match, and on PostgreSQL a visit to each matching
	// row; bounding it bounds the cost of a search for a common word.
	CountLimit = 10_000
)

// Normalize fills in the defaults of q and checks it. Every problem is an
// errs.Invalid error whose message names the offending field.
func (q *Query) Normalize() error {
	const op = "catalog.Query"
	invalid := func(format string, args ...any) error {
		return errs.E(op, errs.Invalid, errs.Msg(format, args...))
	}
	strs := map[string]string{
		"query": q.Query, "filename": q.Filename, "file_extension": q.FileExtension,
		"uploaded_by": q.UploadedBy, "content_type": q.ContentType,
		"retention_policy": q.RetentionPolicy, "storage_element_id": q.StorageElementID,
		"sort_by": q.SortBy, "sort_order": q.SortOrder,
	}
	for _, name := range sortedKeys(strs) {
		if err := sqldb.CheckText(strs[name]); err != nil {
			return invalid("%s %v", name, err)
		}
	}
	if n := utf8.RuneCountInString(q.Query); n > MaxQueryLength {
		return invalid("query is %d characters long; the limit is %d", n, MaxQueryLength)
	}
	if n := len(queryWords(q.Query)); n > maxQueryWords {
		return invalid("query has %d distinct words; the limit is %d", n, maxQueryWords)
	}
	if len(q.Tags) > MaxTags {
		return invalid("%d tags given; the limit is %d", len(q.Tags), MaxTags)
	}
	for _, t := range q.Tags {
		if err := sqldb.CheckText(t); err != nil {
			return invalid("tag %v", err)
		}
	}
	if len(q.Metadata) > MaxMetadata {
		return invalid("%d metadata keys given; the limit is %d", len(q.Metadata), MaxMetadata)
	}
	for _, k := range sortedKeys(q.Metadata) {
		if err := sqldb.CheckText(k); err != nil {
			return invalid("metadata key %v", err)
		}
		if err := sqldb.CheckText(q.Metadata[k]); err != nil {
			return invalid("metadata value of %q %v", k, err)
		}
	}
	if q.MinSize != nil && *q.MinSize < 0 {
		return invalid("min_size %d is negative", *q.MinSize)
	}
	if q.MaxSize != nil && *q.MaxSize < 0 {
		return invalid("max_size %d is negative", *q.MaxSize)
	}
	if q.MinSize != nil && q.MaxSize != nil && *q.MinSize > *q.MaxSize {
		return invalid("min_size %d exceeds max_size %d", *q.MinSize, *q.MaxSize)
	}
	if q.UploadedAfter != nil && q.UploadedBefore != nil && q.UploadedAfter.After(*q.UploadedBefore) {
		return invalid("uploaded_after is later than uploaded_before")
	}
	if q.RetentionPolicy != "" && !artstore.RetentionPolicy(q.RetentionPolicy).Valid() {
		return invalid("unknown retention_policy %q (want temporary or permanent)", q.RetentionPolicy)
	}
	switch q.SortBy {
	case "":
		q.SortBy = SortUploadedAt
		if len(queryWords(q.Query)) > 0 {
			q.SortBy = SortRelevance
		}
	case SortRelevance, SortUploadedAt, SortFilename, SortSize:
	default:
		return invalid("unknown sort_by %q (want relevance, uploaded_at, filename or size)", q.SortBy)
	}
	switch q.SortOrder {
	case "":
		q.SortOrder = "desc"
		if q.SortBy == SortFilename {
			q.SortOrder = "asc"
		}
	case "asc", "desc":
	default:
		return invalid("unknown sort_order %q (want asc or desc)", q.SortOrder)
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return invalid("limit %d is out of range 1..%d", q.Limit, MaxLimit)
	}
	if q.Offset < 0 || q.Offset > MaxOffset {
		return invalid("offset %d is out of range 0..%d", q.Offset, MaxOffset)
	}
	return nil
}
