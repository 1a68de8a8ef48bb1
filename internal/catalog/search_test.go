package catalog_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// fixture is a small catalog whose files differ in every field a search
// looks at. Their upload times run from a, the newest, to h.
func fixture(t *testing.T, db *sqldb.DB) *catalog.Catalog {
	t.Helper()
	c := open(t, db)
	exp := func(h int) *time.Time { e := t0.Add(time.Duration(h) * time.Hour); return &e }
	type spec struct {
		id, name, desc string
		tags           []string
		meta           map[string]any
		ct             string
		size           int64
		by, el         string
		temporary      bool
	}
	specs := []spec{
		{"a", "Quarterly Report.pdf", "Revenue summary for Q1", []string{"finance", "q1"},
			map[string]any{"dept": "finance", "year": 2024.0}, "application/pdf", 1000, "alice", "rw-1", false},
		{"b", "Résumé.docx", "Candidate CV", []string{"hr"},
			map[string]any{"dept": "hr", "year": 2023.0, "score": 4.5}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 2000, "bob", "rw-1", false},
		{"c", "Отчёт за квартал.xlsx", "Годовой отчёт компании", []string{"finance"},
			map[string]any{"dept": "finance", "urgent": true}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 3000, "alice", "edit-1", true},
		{"d", "photo_001.JPG", "Holiday photo", []string{"photos", "q1"},
			map[string]any{"camera": "Nikon", "iso": 200.0}, "image/jpeg", 500000, "carol", "edit-1", true},
		{"e", "diagram.png", "Architecture diagram for the quarterly review", []string{"design"},
			map[string]any{"dept": "eng"}, "image/png", 40000, "bob", "rw-2", false},
		{"f", "archive.tar.gz", "Backup of 2023 data", []string{"backup"},
			map[string]any{"year": 2023.0}, "application/gzip", 10_000_000, "carol", "rw-2", false},
		{"g", "notes", "Meeting notes (draft) AND more", []string{},
			map[string]any{}, "text/plain", 10, "alice", "rw-1", false},
		{"h", "CAFÉ menu.txt", "Меню кафе", []string{"food"},
			map[string]any{}, "text/plain; charset=utf-8", 120, "bob", "rw-1", false},
	}
	pages := map[string][]artstore.Change{}
	for i, s := range specs {
		f := file(s.id, s.el, 1)
		f.OriginalFilename, f.Description, f.Tags, f.Metadata = s.name, s.desc, s.tags, s.meta
		f.ContentType, f.Size, f.UploadedBy = s.ct, s.size, s.by
		f.UploadedAt = t0.Add(-time.Duration(i+1) * time.Hour)
		if s.temporary {
			f.RetentionPolicy, f.ExpiresAt = artstore.Temporary, exp(24*(i+1))
		}
		pages[s.el] = append(pages[s.el], created(int64(len(pages[s.el])+1), f))
	}
	// A deleted file that would match many searches must match none.
	z := file("z", "rw-1", 1)
	z.OriginalFilename, z.Description, z.Tags = "Quarterly deleted.pdf", "quarterly", []string{"finance"}
	n := int64(len(pages["rw-1"]))
	pages["rw-1"] = append(pages["rw-1"], created(n+1, z), deleted(n+2, "z", 1))
	for el, items := range pages {
		mustApply(t, c, el, page("j-"+el, items...))
	}
	return c
}

func search(t *testing.T, c *catalog.Catalog, q catalog.Query) catalog.Result {
	t.Helper()
	r, err := c.Search(ctx, q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return r
}

func ids(r catalog.Result) []string {
	out := []string{}
	for _, f := range r.Items {
		out = append(out, f.FileID)
	}
	return out
}

func i64(v int64) *int64            { return &v }
func at(d time.Duration) *time.Time { return date(t0.Add(d)) }
func date(t time.Time) *time.Time   { return &t }

const anyOrder = true

var searches = []struct {
	name     string
	q        catalog.Query
	want     string // file ids in order, e.g. "abc"
	anyOrder bool
}{
	{"everything, newest first", catalog.Query{}, "abcdefgh", false},

	{"word in name and description", catalog.Query{Query: "quarterly"}, "ae", false},
	{"prefix, upper case", catalog.Query{Query: "QUART"}, "ae", false},
	{"accents ignored", catalog.Query{Query: "resume"}, "b", false},
	{"accents in the query", catalog.Query{Query: "RÉSUMÉ"}, "b", false},
	{"ё reads е", catalog.Query{Query: "отчет"}, "c", false},
	{"Cyrillic upper case with ё", catalog.Query{Query: "ОТЧЁТ"}, "c", false},
	{"Cyrillic prefix", catalog.Query{Query: "кварт"}, "c", false},
	{"Cyrillic in description", catalog.Query{Query: "кафе"}, "h", false},
	{"Latin accented name", catalog.Query{Query: "cafe"}, "h", false},
	{"all words must match", catalog.Query{Query: "quarterly revenue"}, "a", false},
	{"no file has both words", catalog.Query{Query: "quarterly nikon"}, "", false},
	{"metadata value", catalog.Query{Query: "nikon"}, "d", false},
	{"tag", catalog.Query{Query: "photos"}, "d", false},
	{"tag and metadata", catalog.Query{Query: "finance"}, "ac", anyOrder},
	{"number in metadata and description", catalog.Query{Query: "2023"}, "bf", anyOrder},
	{"number in name", catalog.Query{Query: "001"}, "d", false},
	{"decimal metadata", catalog.Query{Query: "4.5"}, "b", false},
	{"boolean metadata", catalog.Query{Query: "true"}, "c", false},
	{"operators are words", catalog.Query{Query: "draft AND"}, "g", false},
	{"compatibility characters", catalog.Query{Query: "𝔮𝔲𝔞𝔯𝔱𝔢𝔯𝔩𝔶"}, "ae", false},
	{"full-width characters", catalog.Query{Query: "ＱＵＡＲＴ"}, "ae", false},
	{"punctuation only", catalog.Query{Query: "!!! ..."}, "abcdefgh", false},

	{"filename contains", catalog.Query{Filename: "report"}, "a", false},
	{"filename contains, accents", catalog.Query{Filename: "RÉS"}, "b", false},
	{"filename contains, Cyrillic", catalog.Query{Filename: "тчёт"}, "c", false},
	{"filename contains a dot", catalog.Query{Filename: ".tar"}, "f", false},
	{"filename contains one letter", catalog.Query{Filename: "o"}, "abdg", false},
	{"filename contains two letters", catalog.Query{Filename: "ar"}, "af", false},
	{"filename contains a space", catalog.Query{Filename: "e m"}, "h", false},
	{"filename contains an underscore", catalog.Query{Filename: "_"}, "d", false},
	{"filename contains a percent sign", catalog.Query{Filename: "%"}, "", false},

	{"extension", catalog.Query{FileExtension: "pdf"}, "a", false},
	{"extension with dot, upper case", catalog.Query{FileExtension: ".PDF"}, "a", false},
	{"extension of an upper-case name", catalog.Query{FileExtension: "jpg"}, "d", false},
	{"only the last extension", catalog.Query{FileExtension: "gz"}, "f", false},
	{"not two extensions", catalog.Query{FileExtension: "tar.gz"}, "", false},

	{"tag", catalog.Query{Tags: []string{"finance"}}, "ac", false},
	{"every tag", catalog.Query{Tags: []string{"finance", "q1"}}, "a", false},
	{"repeated tag", catalog.Query{Tags: []string{"q1", "q1"}}, "ad", false},
	{"tags are exact", catalog.Query{Tags: []string{"FINANCE"}}, "", false},

	{"uploader", catalog.Query{UploadedBy: "alice"}, "acg", false},
	{"uploader is exact", catalog.Query{UploadedBy: "Alice"}, "", false},

	{"content type prefix", catalog.Query{ContentType: "image/"}, "de", false},
	{"content type wildcard", catalog.Query{ContentType: "image/*"}, "de", false},
	{"content type, case", catalog.Query{ContentType: "IMAGE/PNG"}, "e", false},
	{"content type is exact", catalog.Query{ContentType: "text/plain"}, "g", false},
	{"content type prefix with parameters", catalog.Query{ContentType: "text/"}, "gh", false},
	{"any content type", catalog.Query{ContentType: "*/*"}, "abcdefgh", false},

	{"min size inclusive", catalog.Query{MinSize: i64(2000)}, "bcdef", false},
	{"max size inclusive", catalog.Query{MaxSize: i64(2000)}, "abgh", false},
	{"size range", catalog.Query{MinSize: i64(2000), MaxSize: i64(40000)}, "bce", false},
	{"exact size", catalog.Query{MinSize: i64(3000), MaxSize: i64(3000)}, "c", false},

	{"uploaded after, inclusive", catalog.Query{UploadedAfter: at(-3 * time.Hour)}, "abc", false},
	{"uploaded before, exclusive", catalog.Query{UploadedBefore: at(-3 * time.Hour)}, "defgh", false},
	{"upload range", catalog.Query{UploadedAfter: at(-5 * time.Hour), UploadedBefore: at(-2 * time.Hour)}, "cde", false},
	{"far future", catalog.Query{UploadedAfter: date(t0.AddDate(500, 0, 0))}, "", false},
	{"far past", catalog.Query{UploadedAfter: date(time.Time{})}, "abcdefgh", false},

	{"temporary", catalog.Query{RetentionPolicy: "temporary"}, "cd", false},
	{"permanent", catalog.Query{RetentionPolicy: "permanent"}, "abefgh", false},
	{"element", catalog.Query{StorageElementID: "edit-1"}, "cd", false},

	{"metadata string", catalog.Query{Metadata: map[string]string{"dept": "finance"}}, "ac", false},
	{"metadata integer", catalog.Query{Metadata: map[string]string{"year": "2023"}}, "bf", false},
	{"metadata decimal", catalog.Query{Metadata: map[string]string{"score": "4.5"}}, "b", false},
	{"metadata boolean", catalog.Query{Metadata: map[string]string{"urgent": "true"}}, "c", false},
	{"metadata values are exact", catalog.Query{Metadata: map[string]string{"camera": "nikon"}}, "", false},
	{"every metadata key", catalog.Query{Metadata: map[string]string{"dept": "finance", "year": "2024"}}, "a", false},

	{"words and extension", catalog.Query{Query: "quarterly", FileExtension: "png"}, "e", false},
	{"content type and tag", catalog.Query{ContentType: "image/", Tags: []string{"q1"}}, "d", false},
	{"words and policy", catalog.Query{Query: "finance", RetentionPolicy: "temporary"}, "c", false},
	{"words, tag and uploader", catalog.Query{Query: "q1", Tags: []string{"photos"}, UploadedBy: "carol"}, "d", false},
	{"words and filename", catalog.Query{Query: "quarterly", Filename: "diag"}, "e", false},
	{"words and element", catalog.Query{Query: "finance", StorageElementID: "rw-1"}, "a", false},
	{"words and metadata", catalog.Query{Query: "отчет", Metadata: map[string]string{"dept": "finance"}}, "c", false},
	{"words and uploader", catalog.Query{Query: "q1", UploadedBy: "alice"}, "a", false},
	{"words and content type", catalog.Query{Query: "notes", ContentType: "TEXT/PLAIN"}, "g", false},
	{"words and exact content type", catalog.Query{Query: "menu", ContentType: "text/plain"}, "", false},
	{"words and major type", catalog.Query{Query: "menu", ContentType: "text/*"}, "h", false},
	{"words and a longer type prefix", catalog.Query{Query: "cv", ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document/"}, "", false},
	{"words and size", catalog.Query{Query: "quarterly", MinSize: i64(2000)}, "e", false},
	{"words, tags and metadata", catalog.Query{Query: "revenue", Tags: []string{"finance", "q1"}, Metadata: map[string]string{"year": "2024"}}, "a", false},
	{"tags and metadata", catalog.Query{Tags: []string{"finance"}, Metadata: map[string]string{"dept": "finance"}}, "ac", false},
	{"tag and upload range", catalog.Query{Tags: []string{"q1"}, UploadedAfter: at(-3 * time.Hour)}, "a", false},

	{"by filename", catalog.Query{SortBy: "filename"}, "fhegdabc", false},
	{"by filename, descending", catalog.Query{SortBy: "filename", SortOrder: "desc"}, "cbadgehf", false},
	{"by size", catalog.Query{SortBy: "size"}, "fdecbahg", false},
	{"by size, ascending", catalog.Query{SortBy: "size", SortOrder: "asc"}, "ghabcedf", false},
	{"by upload, ascending", catalog.Query{SortBy: "uploaded_at", SortOrder: "asc"}, "hgfedcba", false},
	{"words by upload", catalog.Query{Query: "quarterly", SortBy: "uploaded_at", SortOrder: "asc"}, "ea", false},
	{"words by size", catalog.Query{Query: "q1", SortBy: "size"}, "da", false},
	{"least relevant first", catalog.Query{Query: "quarterly", SortOrder: "asc"}, "ea", false},
	{"relevance without words", catalog.Query{SortBy: "relevance"}, "abcdefgh", false},
	{"filter by filename, sorted by size", catalog.Query{Filename: "o", SortBy: "size", SortOrder: "asc"}, "gabd", false},
}

func TestSearch(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		for _, tc := range searches {
			r := search(t, c, tc.q)
			got := strings.Join(ids(r), "")
			if tc.anyOrder {
				b := []byte(got)
				slices.Sort(b)
				got = string(b)
			}
			if got != tc.want || r.Total != int64(len(tc.want)) {
				t.Errorf("%s: got %q (total %d), want %q", tc.name, got, r.Total, tc.want)
			}
		}
	})
}

func TestSearchReturnsFiles(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		r := search(t, c, catalog.Query{Query: "nikon"})
		if len(r.Items) != 1 {
			t.Fatalf("got %d items", len(r.Items))
		}
		f := r.Items[0]
		if f.OriginalFilename != "photo_001.JPG" || f.StorageElementID != "edit-1" || f.Metadata["camera"] != "Nikon" ||
			!slices.Equal(f.Tags, []string{"photos", "q1"}) || f.ExpiresAt == nil || f.Version != 1 {
			t.Errorf("item = %+v", f)
		}
		if r := search(t, c, catalog.Query{Query: "nothing matches this"}); r.Items == nil || len(r.Items) != 0 {
			t.Errorf("no match gives items %#v, want an empty list", r.Items)
		}
	})
}

// TestDamagedDocument checks that a search whose page holds a file with a
// missing or truncated stored document fails as an internal error instead
// of answering with invalid JSON.
func TestDamagedDocument(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		for _, damage := range []string{
			`UPDATE cat_docs SET doc = '{"file_id":' WHERE id IN (SELECT id FROM cat_files WHERE name_norm LIKE 'photo_001%')`,
			`DELETE FROM cat_docs WHERE id IN (SELECT id FROM cat_files WHERE name_norm LIKE 'photo_001%')`,
		} {
			if _, err := db.ExecContext(ctx, damage); err != nil {
				t.Fatal(err)
			}
			if _, err := c.SearchRaw(ctx, catalog.Query{Query: "nikon"}); !errs.Is(errs.Internal, err) {
				t.Errorf("after %s: %v, want an internal error", damage, err)
			}
		}
	})
}

func TestSearchPages(t *testing.T) {
	tests := []struct {
		limit, offset int
		want          string
		more          bool
	}{
		{3, 0, "abc", true},
		{3, 3, "def", true},
		{3, 6, "gh", false},
		{3, 8, "", false},
		{3, 50, "", false},
		{8, 0, "abcdefgh", false},
		{1000, 7, "h", false},
	}
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		for _, tc := range tests {
			r := search(t, c, catalog.Query{Limit: tc.limit, Offset: tc.offset})
			if got := strings.Join(ids(r), ""); got != tc.want || r.Total != 8 || r.HasMore != tc.more ||
				r.Limit != tc.limit || r.Offset != tc.offset {
				t.Errorf("limit %d offset %d: got %q total %d has_more %v (limit %d offset %d), want %q total 8 has_more %v",
					tc.limit, tc.offset, got, r.Total, r.HasMore, r.Limit, r.Offset, tc.want, tc.more)
			}
		}
		if r := search(t, c, catalog.Query{}); r.Limit != catalog.DefaultLimit {
			t.Errorf("default limit = %d", r.Limit)
		}
		// Ranked searches count their matches another way.
		for _, tc := range []struct {
			offset int
			want   string
		}{{0, "a"}, {1, "e"}, {2, ""}, {9, ""}} {
			r := search(t, c, catalog.Query{Query: "quarterly", Limit: 1, Offset: tc.offset})
			if got := strings.Join(ids(r), ""); got != tc.want || r.Total != 2 || r.HasMore != (tc.offset == 0) {
				t.Errorf("ranked, offset %d: got %q total %d has_more %v, want %q total 2", tc.offset, got, r.Total, r.HasMore, tc.want)
			}
		}
	})
}

// TestSearchTies checks that files equal in every sort key come in file id
// order, so that pages never overlap or skip.
func TestSearchTies(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		var items []artstore.Change
		for i, id := range []string{"t3", "t1", "t5", "t2", "t4"} {
			f := file(id, "rw-1", 1)
			f.OriginalFilename, f.Description = "same.txt", "same words"
			items = append(items, created(int64(i+1), f))
		}
		mustApply(t, c, "rw-1", page("j", items...))
		for _, tc := range []struct {
			q    catalog.Query
			want string
		}{
			{catalog.Query{}, "t5t4t3t2t1"},
			{catalog.Query{SortOrder: "asc"}, "t1t2t3t4t5"},
			{catalog.Query{SortBy: "filename"}, "t1t2t3t4t5"},
			{catalog.Query{SortBy: "size"}, "t5t4t3t2t1"},
			{catalog.Query{Query: "same"}, "t1t2t3t4t5"},
			{catalog.Query{Query: "same", SortOrder: "asc"}, "t1t2t3t4t5"},
			{catalog.Query{Query: "same", SortBy: "filename", SortOrder: "desc"}, "t5t4t3t2t1"},
			{catalog.Query{Query: "same", SortBy: "uploaded_at", SortOrder: "asc"}, "t1t2t3t4t5"},
		} {
			if got := strings.Join(ids(search(t, c, tc.q)), ""); got != tc.want {
				t.Errorf("%+v: got %s, want %s", tc.q, got, tc.want)
			}
			var paged []string
			for off := 0; off < 5; off += 2 {
				q := tc.q
				q.Limit, q.Offset = 2, off
				paged = append(paged, ids(search(t, c, q))...)
			}
			if got := strings.Join(paged, ""); got != tc.want {
				t.Errorf("%+v in pages of 2: got %s, want %s", tc.q, got, tc.want)
			}
		}
	})
}

// TestRankWindows checks relevance over more matches than one window: the
// most recently catalogued RankWindow matches come first, ranked, then the
// next window; the pages of any size form one order without overlaps or
// gaps, the total is exact, and a filter keeps its meaning. The order is
// the same when there are more matches than a search counts, which
// PostgreSQL finds another way.
func TestRankWindows(t *testing.T) {
	const n = catalog.RankWindow*2 + 500
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		var items []artstore.Change
		for i := range n {
			f := file(fmt.Sprintf("w%05d", i), "rw-1", 1)
			f.OriginalFilename, f.Description = fmt.Sprintf("other-%d.txt", i), "alpha"
			if i%7 == 0 {
				// Better matches: the word in the name as well.
				f.OriginalFilename = fmt.Sprintf("alpha-%d.txt", i)
			}
			if i%2 == 0 {
				f.Tags = []string{"even"}
			}
			f.UploadedAt = t0.Add(time.Duration(i) * time.Minute)
			items = append(items, created(int64(i+1), f))
		}
		mustApply(t, c, "rw-1", page("j", items...))

		for _, countLimit := range []int{catalog.CountLimit, n / 2} {
			restore := catalog.SetCountLimit(countLimit)
			rankWindows(t, c, n, countLimit)
			restore()
		}
	})
}

// rankWindows checks the order of matches by relevance over the files of
// TestRankWindows with a search counting up to countLimit matches.
func rankWindows(t *testing.T, c *catalog.Catalog, n, countLimit int) {
	t.Helper()
	// checkTotal checks the total of a page of a search with want matches.
	checkTotal := func(q catalog.Query, r catalog.Result, want int) {
		t.Helper()
		exact := want <= countLimit || !r.HasMore
		if r.TotalExact != exact || exact && r.Total != int64(want) || !exact && r.Total < int64(countLimit) {
			t.Fatalf("count limit %d, %+v offset %d: total %d exact %v, want %d exact %v",
				countLimit, q, q.Offset, r.Total, r.TotalExact, want, exact)
		}
	}
	for _, tc := range []struct {
		q    catalog.Query
		want int
	}{
		{catalog.Query{Query: "alpha"}, n},
		{catalog.Query{Query: "alpha", Tags: []string{"even"}}, (n + 1) / 2},
	} {
		q := tc.q
		q.Limit = catalog.RankWindow
		all := search(t, c, q)
		checkTotal(q, all, tc.want)
		if !all.HasMore {
			t.Fatalf("%+v: has_more false, want true", tc.q)
		}
		// The first window is the newest RankWindow matches, the
		// name matches among them first.
		window := map[string]bool{}
		for i, f := range all.Items {
			window[f.FileID] = true
			name := strings.HasPrefix(f.OriginalFilename, "alpha")
			if i > 0 && name && !strings.HasPrefix(all.Items[i-1].OriginalFilename, "alpha") {
				t.Fatalf("%+v: name match %s ranked after %s", tc.q, f.FileID, all.Items[i-1].FileID)
			}
		}
		var got []string
		for off := 0; off < tc.want+100; off += 333 {
			q := tc.q
			q.Limit, q.Offset = 333, off
			r := search(t, c, q)
			if r.HasMore != (off+333 < tc.want) {
				t.Fatalf("%+v offset %d: has_more %v", tc.q, off, r.HasMore)
			}
			checkTotal(q, r, tc.want)
			got = append(got, ids(r)...)
		}
		if len(got) != tc.want || len(slices.Compact(slices.Sorted(slices.Values(got)))) != tc.want {
			t.Fatalf("%+v: pages of 333 give %d files, %d distinct, want %d", tc.q, len(got), len(slices.Compact(slices.Sorted(slices.Values(got)))), tc.want)
		}
		for i, id := range got[:len(all.Items)] {
			if id != all.Items[i].FileID {
				t.Fatalf("%+v: pages of 333 differ from one page at %d: %s, want %s", tc.q, i, id, all.Items[i].FileID)
			}
		}
		for _, id := range got[len(all.Items):] {
			if window[id] {
				t.Fatalf("%+v: %s comes twice", tc.q, id)
			}
		}
		// The newest matches make the first window: every file from
		// the oldest in it on matches.
		oldest := n - catalog.RankWindow*(n/tc.want)
		for id := range window {
			var i int
			if _, err := fmt.Sscanf(id, "w%d", &i); err != nil || i < oldest {
				t.Fatalf("%+v: file %s, older than w%05d, in the first window", tc.q, id, oldest)
			}
		}
	}
}

// TestReindex checks that a catalog whose search entries were derived by
// an older version derives them again when it opens.
func TestReindex(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		stale := []string{`UPDATE cat_index SET version = 1`, `INSERT INTO cat_fts (cat_fts) VALUES ('delete-all')`}
		if db.Dialect == sqldb.Postgres {
			stale[1] = `UPDATE cat_files SET tsv = NULL`
		}
		for _, stmt := range stale {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if got := ids(search(t, c, catalog.Query{Query: "quarterly"})); len(got) != 0 {
			t.Fatalf("entries removed, yet the search finds %v", got)
		}
		c = open(t, db)
		for _, tc := range []struct {
			q    catalog.Query
			want string
		}{
			{catalog.Query{Query: "quarterly"}, "ae"},
			{catalog.Query{Query: "quarterly", FileExtension: "png"}, "e"},
			{catalog.Query{Tags: []string{"finance"}}, "ac"},
		} {
			if got := strings.Join(ids(search(t, c, tc.q)), ""); got != tc.want {
				t.Errorf("after reindex, %+v: got %q, want %q", tc.q, got, tc.want)
			}
		}
		var version int
		if err := db.QueryRowContext(ctx, `SELECT version FROM cat_index`).Scan(&version); err != nil || version != 2 {
			t.Errorf("index version %d (%v), want 2", version, err)
		}
	})
}

// TestCountLimit checks totals beyond the count limit: a lower bound that
// the page itself can raise, exact again once a page reaches the end, and
// has_more exact throughout.
func TestCountLimit(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := fixture(t, db)
		defer catalog.SetCountLimit(5)()
		for _, tc := range []struct {
			q           catalog.Query
			want        string
			total       int64
			exact, more bool
		}{
			{catalog.Query{Limit: 3}, "abc", 5, false, true},
			{catalog.Query{Limit: 3, Offset: 3}, "def", 7, false, true},
			{catalog.Query{Limit: 3, Offset: 6}, "gh", 8, true, false},
			{catalog.Query{Limit: 3, Offset: 9}, "", 5, false, false},
			{catalog.Query{Limit: 10}, "abcdefgh", 8, true, false},
			{catalog.Query{Query: "quarterly", Limit: 1}, "a", 2, true, true},
			{catalog.Query{Tags: []string{"finance"}}, "ac", 2, true, false},
			{catalog.Query{Query: "quarterly", Offset: catalog.MaxOffset}, "", 2, true, false},
			{catalog.Query{Query: "quarterly", SortBy: "size", Offset: catalog.MaxOffset}, "", 2, true, false},
			{catalog.Query{Tags: []string{"finance"}, Offset: catalog.MaxOffset}, "", 2, true, false},
		} {
			r := search(t, c, tc.q)
			if got := strings.Join(ids(r), ""); got != tc.want || r.Total != tc.total || r.TotalExact != tc.exact || r.HasMore != tc.more {
				t.Errorf("%+v: got %q total %d exact %v has_more %v, want %q %d %v %v",
					tc.q, got, r.Total, r.TotalExact, r.HasMore, tc.want, tc.total, tc.exact, tc.more)
			}
		}
	})
}
