package catalog_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

func TestNormalizeDefaults(t *testing.T) {
	tests := []struct {
		q                 catalog.Query
		sortBy, sortOrder string
	}{
		{catalog.Query{}, "uploaded_at", "desc"},
		{catalog.Query{Query: "report"}, "relevance", "desc"},
		{catalog.Query{Query: "!!!"}, "uploaded_at", "desc"}, // no words
		{catalog.Query{SortBy: "filename"}, "filename", "asc"},
		{catalog.Query{SortBy: "filename", SortOrder: "desc"}, "filename", "desc"},
		{catalog.Query{SortBy: "size"}, "size", "desc"},
		{catalog.Query{Query: "report", SortBy: "size", SortOrder: "asc"}, "size", "asc"},
	}
	for _, tc := range tests {
		q := tc.q
		if err := q.Normalize(); err != nil {
			t.Errorf("%+v: %v", tc.q, err)
			continue
		}
		if q.SortBy != tc.sortBy || q.SortOrder != tc.sortOrder || q.Limit != 100 || q.Offset != 0 {
			t.Errorf("%+v normalised to sort %s %s limit %d offset %d, want %s %s 100 0",
				tc.q, q.SortBy, q.SortOrder, q.Limit, q.Offset, tc.sortBy, tc.sortOrder)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	neg, small, big := int64(-1), int64(10), int64(20)
	before, after := t0, t0.Add(time.Hour)
	many := make([]string, 21)
	for i := range many {
		many[i] = string(rune('a' + i))
	}
	meta := map[string]string{}
	for _, k := range many {
		meta[k] = "v"
	}
	tests := []struct {
		name string
		q    catalog.Query
		msg  string // part of the error message
	}{
		{"unknown sort", catalog.Query{SortBy: "name"}, "sort_by"},
		{"unknown order", catalog.Query{SortOrder: "up"}, "sort_order"},
		{"negative limit", catalog.Query{Limit: -1}, "limit"},
		{"limit too big", catalog.Query{Limit: 1001}, "limit"},
		{"negative offset", catalog.Query{Offset: -1}, "offset"},
		{"query too long", catalog.Query{Query: strings.Repeat("é", 1001)}, "query"},
		{"too many words", catalog.Query{Query: strings.Join(wordsN(33), " ")}, "words"},
		{"query not UTF-8", catalog.Query{Query: "a\xffb"}, "query"},
		{"NUL in query", catalog.Query{Query: "a\x00b"}, "query"},
		{"filename not UTF-8", catalog.Query{Filename: "\xc3"}, "filename"},
		{"extension not UTF-8", catalog.Query{FileExtension: "\xff"}, "file_extension"},
		{"uploader not UTF-8", catalog.Query{UploadedBy: "\xff"}, "uploaded_by"},
		{"content type not UTF-8", catalog.Query{ContentType: "\xff"}, "content_type"},
		{"element not UTF-8", catalog.Query{StorageElementID: "\xff"}, "storage_element_id"},
		{"tag not UTF-8", catalog.Query{Tags: []string{"ok", "\xff"}}, "tag"},
		{"metadata key not UTF-8", catalog.Query{Metadata: map[string]string{"\xff": "v"}}, "metadata key"},
		{"metadata value not UTF-8", catalog.Query{Metadata: map[string]string{"k": "\xff"}}, "metadata value"},
		{"negative min size", catalog.Query{MinSize: &neg}, "min_size"},
		{"negative max size", catalog.Query{MaxSize: &neg}, "max_size"},
		{"min above max", catalog.Query{MinSize: &big, MaxSize: &small}, "exceeds"},
		{"after later than before", catalog.Query{UploadedAfter: &after, UploadedBefore: &before}, "uploaded_after"},
		{"unknown policy", catalog.Query{RetentionPolicy: "forever"}, "retention_policy"},
		{"too many tags", catalog.Query{Tags: many}, "tags"},
		{"too many metadata keys", catalog.Query{Metadata: meta}, "metadata"},
	}
	for _, tc := range tests {
		q := tc.q
		err := q.Normalize()
		if !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want an invalid error mentioning %q", tc.name, err, tc.msg)
		}
	}
	ok := catalog.Query{Query: strings.Repeat("é", 1000), Limit: 1000, Offset: 5, MinSize: &small, MaxSize: &small}
	if err := ok.Normalize(); err != nil {
		t.Errorf("query at the limits: %v", err)
	}
}

// wordsN returns n distinct words none of which is a prefix of another.
func wordsN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "w" + string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	return out
}

// hostile are inputs that would be syntax in SQL, FTS5, tsquery or LIKE.
var hostile = []string{
	`"`, `""`, `"quarterly`, `'`, `''`, `'quarterly'`, `(`, `)`, `quarterly)`, `(quarterly`,
	`NEAR(quarterly report)`, `NEAR`, `*`, `quart*`, `**`, `:`, `name:quarterly`, `{name tags}: quarterly`,
	`-quarterly`, `quarterly -report`, `NOT quarterly`, `AND`, `OR`, `quarterly OR report`, `a AND b OR c`,
	`^quarterly`, `+quarterly`, `\`, `\\'`, `%`, `_`, `%_%`, `'; DROP TABLE cat_files; --`, `$1`, `?`, `??`,
	`@@`, `&`, `|`, `!`, `<->`, `<2>`, `quart:*`, `'quart':*`, `quart:*A`, `[`, `]`, `~`, `=`, `;`, "\t\n",
	"\u200b", "\u0301\u0301", "📄 report", "עברית", strings.Repeat("a ", 500), strings.Repeat("x", 1000),
	strings.Repeat("é", 1000), strings.Repeat("(", 1000), strings.Repeat(`"`, 1000),
	strings.Repeat("ab* ", 250), "a\xffb", "\xff", "quart\x00", strings.Repeat("y", 1001),
}

// TestHostileInput feeds every text field of a query with inputs that are
// syntax somewhere below, and random ones: a search may find nothing or
// reject its input as invalid, but nothing else.
func TestHostileInput(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		check := func(q catalog.Query) {
			t.Helper()
			_, err := c.Search(ctx, q)
			if err != nil && !errs.Is(errs.Invalid, err) {
				t.Errorf("Search(%#v): %v", q, err)
			}
		}
		for _, s := range hostile {
			check(catalog.Query{Query: s})
			check(catalog.Query{Query: s, SortBy: "uploaded_at"})
			check(catalog.Query{Query: s, Tags: []string{"q1"}, UploadedBy: "alice"})
			check(catalog.Query{Filename: s})
			check(catalog.Query{Filename: s, Query: "quarterly"})
			check(catalog.Query{FileExtension: s})
			check(catalog.Query{Tags: []string{s}})
			check(catalog.Query{UploadedBy: s})
			check(catalog.Query{ContentType: s})
			check(catalog.Query{StorageElementID: s})
			check(catalog.Query{Metadata: map[string]string{s: s}})
		}
		r := rand.New(rand.NewPCG(1, 1))
		pool := []rune(`"'()*:-+^{}[]\%_;?$@&|!<>~=.,AND OR NOT NEAR aéёЖ𝔮 ` + "\x00\t")
		for range 300 {
			b := make([]rune, 1+r.IntN(40))
			for i := range b {
				b[i] = pool[r.IntN(len(pool))]
			}
			s := string(b)
			check(catalog.Query{Query: s})
			check(catalog.Query{Query: s, FileExtension: "pdf"})
			check(catalog.Query{Filename: s})
		}
	})
}

func TestHostileInputStillFinds(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		for q, want := range map[string]string{
			`"quarterly`:              "ae",
			`quart*`:                  "ae",
			`NEAR(quarterly revenue)`: "", // "near" is a word no file has
			`-quarterly`:              "ae",
			`'quart':*`:               "ae",
			`quarterly) OR (nikon`:    "",
			`(résumé)`:                "b",
		} {
			if got := strings.Join(ids(search(t, c, catalog.Query{Query: q})), ""); got != want {
				t.Errorf("%q: got %q, want %q", q, got, want)
			}
		}
	})
}
