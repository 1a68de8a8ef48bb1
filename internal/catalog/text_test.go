package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"report":       "report",
		"Résumé":       "resume",
		"NAÏVE Café":   "naive cafe",
		"Отчёт":        "отчет",
		"ЁЛКА":         "елка",
		"ﬁle":          "file", // a ligature
		"Ｑｕａｒｔ":        "quart",
		"a\x00b":       "ab",
		"bad\xffutf8":  "badutf8",
		"İstanbul":     "istanbul",
		"straße":       "straße",
		"":             "",
		"MIXED Кейс 1": "mixed кеис 1", // й decomposes too
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	long := strings.Repeat("x", maxWordRunes+10)
	for in, want := range map[string][]string{
		"Quarterly Report.pdf":       {"quarterly", "report", "pdf"},
		"photo_001.JPG":              {"photo", "001", "jpg"},
		"Отчёт за 2024-й год":        {"отчет", "за", "2024", "и", "год"},
		`"a" AND (b) NEAR/3 c* -d:e`: {"a", "and", "b", "near", "3", "c", "d", "e"},
		"  \t\n":                     nil,
		"x" + long + " y":            {"x" + long[:maxWordRunes-1], "y"},
	} {
		if got := words(in, nil); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryWords(t *testing.T) {
	for in, want := range map[string][]string{
		"report":                {"report"},
		"rep report":            {"report"},
		"report rep Rep REPORT": {"report"},
		"b a":                   {"a", "b"},
		"quart revenue q":       {"quart", "revenue"},
		"!!!":                   nil,
	} {
		if got := queryWords(in); !slices.Equal(got, want) {
			t.Errorf("queryWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtOf(t *testing.T) {
	for in, want := range map[string]string{
		"a.pdf": "pdf", "A.PDF": "pdf", "x.tar.gz": "gz", "notes": "", ".bashrc": "", "trailing.": "", "Фото.ЖПГ": "жпг",
	} {
		if got := extOf(in); got != want {
			t.Errorf("extOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMetaString(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"text", "text"}, {"<b>", "<b>"}, {2023.0, "2023"}, {4.5, "4.5"}, {1e21, "1e+21"}, {int64(7), "7"},
		{true, "true"}, {false, "false"}, {nil, "null"},
		{[]any{"a", 1.0}, `["a",1]`}, {map[string]any{"k": "<v>"}, `{"k":"<v>"}`},
	} {
		if got := metaString(tc.v); got != tc.want {
			t.Errorf("metaString(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestQuerySyntax(t *testing.T) {
	ws := []string{"a", `b"c`, "d'e", `f\g`}
	if got, want := ftsQuery(ws), `"a"* AND "b""c"* AND "d'e"* AND "f\g"*`; got != want {
		t.Errorf("ftsQuery = %s, want %s", got, want)
	}
	if got, want := tsQuery(ws), `'a':* & 'b"c':* & 'd''e':* & 'f\\g':*`; got != want {
		t.Errorf("tsQuery = %s, want %s", got, want)
	}
}

func TestTSVector(t *testing.T) {
	f := &artstore.File{
		OriginalFilename: "Report report.pdf",
		Tags:             []string{"Fin"},
		Metadata:         map[string]any{"b": "two", "a": 1.0},
		Description:      "report",
	}
	x := fileFields(f)
	want := "'1':5C 'fin':4B 'pdf':3A 'report':1A,2A,7D 'two':6C"
	if got := x.tsvector(); got != want {
		t.Errorf("tsvector = %s, want %s", got, want)
	}
	long := &artstore.File{Description: strings.Repeat("w ", maxFileWords+50)}
	if n := len(fileFields(long).body); n != maxFileWords {
		t.Errorf("indexed %d words of a long description, want %d", n, maxFileWords)
	}
}

// TestApplies checks the version rules on their own; the tests of package
// catalog_test check them through the database.
func TestApplies(t *testing.T) {
	live := func(el string, v int64) target {
		return target{element: el, version: v, file: &artstore.File{}}
	}
	gone := func(el string, v int64) target { return target{element: el, version: v} }
	held := func(el string, v int64, deleted bool) *row { return &row{element: el, version: v, deleted: deleted} }
	for _, tc := range []struct {
		held *row
		o    target
		want bool
	}{
		{nil, live("E", 1), true},
		{nil, gone("E", 1), true},
		{held("E", 1, false), live("E", 2), true},
		{held("E", 1, false), live("R", 2), true},
		{held("E", 2, false), live("E", 1), false},
		{held("E", 1, false), live("E", 1), false},
		{held("E", 1, false), live("R", 1), false},
		{held("E", 1, true), live("E", 1), true}, // no journal makes this tombstone: the live state wins
		{held("E", 1, true), live("R", 1), true},
		{held("E", 2, true), live("R", 1), false},
		{held("E", 1, false), gone("E", 1), true},
		{held("E", 1, false), gone("E", 2), true},
		{held("E", 2, false), gone("E", 1), false},
		{held("E", 1, false), gone("R", 5), false},
		{held("E", 1, true), gone("E", 1), false},
		{held("E", 1, true), gone("E", 2), true},
		{held("E", 1, true), gone("R", 2), false},
	} {
		if got := applies(tc.held, tc.o); got != tc.want {
			t.Errorf("applies(%+v, %s@%d deleted=%v) = %v, want %v", tc.held, tc.o.element, tc.o.version, tc.o.file == nil, got, tc.want)
		}
	}
}
