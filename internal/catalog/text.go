package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/artstore/artstore/internal/artstore"
)

// Words are folded and split here, in Go, for both dialects: the same text
// then yields the same words in SQLite's FTS5 index and in PostgreSQL's
// tsvector, and a query finds the same files whichever database holds them.
// Neither database is asked to lower-case, strip accents or parse words.

const (
	// maxWordRunes bounds one indexed or queried word. Longer words are cut
	// on both sides, so they still find each other, and the bound keeps far
	// below PostgreSQL's limit on the length of a lexeme.
	maxWordRunes = 64
	// maxFileWords bounds the words indexed for one file, however long its
	// description, so that a tsvector stays far below PostgreSQL's 1 MB.
	maxFileWords = 10000
	// maxQueryWords bounds the words of one full-text query; each is a
	// prefix term the index must intersect.
	maxQueryWords = 32
)

// fold returns s as the catalog compares text: compatibility-decomposed,
// without combining marks and in lower case, so that "Résumé" reads
// "resume" and "Отчёт" reads "отчет". Invalid UTF-8 and NUL bytes, which
// PostgreSQL cannot store in text, are dropped.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c == 0 || ('A' <= c && c <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(strings.ToValidUTF8(s, "")) {
		if r == 0 || unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// clean makes s storable as PostgreSQL text, which admits neither NUL nor
// invalid UTF-8. Exact-match columns and the values they are compared with
// both pass through it, so they still compare equal.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// words splits the folded form of s into words: maximal runs of letters and
// digits, each cut to maxWordRunes. Everything else separates words, which
// is also what keeps query syntax out of the text search engines.
func words(s string, dst []string) []string {
	f := fold(s)
	start := -1
	n := 0 // runes in the current word
	for i, r := range f {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			if start < 0 {
				start, n = i, 0
			}
			n++
			if n == maxWordRunes+1 {
				dst = append(dst, f[start:i])
			}
			continue
		}
		if start >= 0 && n <= maxWordRunes {
			dst = append(dst, f[start:i])
		}
		start = -1
	}
	if start >= 0 && n <= maxWordRunes {
		dst = append(dst, f[start:])
	}
	return dst
}

// extOf returns the folded last extension of a file name, without the dot,
// or "" when it has none. A leading dot starts a hidden name, not an
// extension.
func extOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return fold(name[i+1:])
}

// metaString returns a metadata value in the form filters compare it in:
// a string as it is, anything else as encoding/json writes it.
func metaString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// sortedKeys returns the keys of m in order, so that everything derived
// from metadata is deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fields are the searchable words of one file, by field, in the order of
// their weight.
type fields struct {
	name, tags, meta, body []string
	// terms are the file's filter terms (see fileTerms); they carry no
	// weight in ranking.
	terms []string
}

func fileFields(f *artstore.File) fields {
	var x fields
	x.name = words(f.OriginalFilename, nil)
	for _, t := range f.Tags {
		x.tags = words(t, x.tags)
	}
	for _, k := range sortedKeys(f.Metadata) {
		x.meta = words(metaString(f.Metadata[k]), x.meta)
	}
	x.body = words(f.Description, nil)
	budget := maxFileWords
	for _, p := range []*[]string{&x.name, &x.tags, &x.meta, &x.body} {
		if len(*p) > budget {
			*p = (*p)[:budget]
		}
		budget -= len(*p)
	}
	return x
}

// tsvector returns x as a PostgreSQL tsvector literal, with positions and
// a weight per field, so that ts_rank weighs a name above a description.
func (x fields) tsvector() string {
	type lexeme struct {
		word string
		pos  []string
	}
	var (
		byWord = map[string]*lexeme{}
		pos    = 0
	)
	for i, ws := range [][]string{x.name, x.tags, x.meta, x.body} {
		weight := string(rune('A' + i))
		for _, w := range ws {
			pos++ // at most maxFileWords, below the limit of 16383
			l := byWord[w]
			if l == nil {
				l = &lexeme{word: w}
				byWord[w] = l
			}
			if len(l.pos) < 255 { // PostgreSQL keeps at most 256 positions
				l.pos = append(l.pos, strconv.Itoa(pos)+weight)
			}
		}
	}
	var b strings.Builder
	for _, w := range sortedKeys(byWord) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pgQuote(w))
		b.WriteByte(':')
		b.WriteString(strings.Join(byWord[w].pos, ","))
	}
	// Filter terms have no position, hence no weight; a tsvector keeps
	// one of each.
	for _, t := range x.terms {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pgQuote(pgTermPrefix + t))
	}
	return b.String()
}

// pgTermPrefix starts every filter term in a tsvector, so that no query
// word, made of letters and digits, can match one as a prefix.
const pgTermPrefix = "#"

// pgQuote quotes a lexeme for a tsvector or tsquery literal.
func pgQuote(w string) string {
	w = strings.ReplaceAll(w, `\`, `\\`)
	return "'" + strings.ReplaceAll(w, "'", "''") + "'"
}

// queryWords returns the distinct words of a full-text query, leaving out
// any word that is a prefix of another: every file the longer word finds,
// the shorter finds too.
func queryWords(q string) []string {
	ws := words(q, nil)
	sort.Slice(ws, func(i, j int) bool { return len(ws[i]) > len(ws[j]) || len(ws[i]) == len(ws[j]) && ws[i] < ws[j] })
	var out []string
next:
	for _, w := range ws {
		for _, o := range out {
			if strings.HasPrefix(o, w) {
				continue next
			}
		}
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// ftsQuery returns an FTS5 query matching files that have every word as a
// prefix. Each word is a quoted string, so FTS5 reads no operator in it.
func ftsQuery(ws []string) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
	}
	return strings.Join(parts, " AND ")
}

// tsQuery returns a PostgreSQL tsquery literal matching files that have
// every word as a prefix.
func tsQuery(ws []string) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = pgQuote(w) + ":*"
	}
	return strings.Join(parts, " & ")
}

// textColumns are the columns of cat_fts that hold words, the ones a
// full-text query searches; the facets column holds filter terms.
const textColumns = "{name tags meta body}"

// ftsSearch returns an FTS5 query for files with every word as a prefix of
// one of their words and every filter term.
func ftsSearch(ws, terms []string) string {
	var parts []string
	if len(ws) > 0 {
		parts = append(parts, textColumns+" : ("+ftsQuery(ws)+")")
	}
	if len(terms) > 0 {
		quoted := make([]string, len(terms))
		for i, t := range terms {
			quoted[i] = `"` + t + `"`
		}
		parts = append(parts, "facets : ("+strings.Join(quoted, " AND ")+")")
	}
	return strings.Join(parts, " AND ")
}

// tsSearch returns a tsquery for files with every word as a prefix of one
// of their words and every filter term.
func tsSearch(ws, terms []string) string {
	var parts []string
	if len(ws) > 0 {
		parts = append(parts, tsQuery(ws))
	}
	for _, t := range terms {
		parts = append(parts, pgQuote(pgTermPrefix+t))
	}
	return strings.Join(parts, " & ")
}
