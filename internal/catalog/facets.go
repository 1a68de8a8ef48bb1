package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/artstore/artstore/internal/artstore"
)

// Filter terms put the equality filters of a search into the full-text
// index beside the words: a file's extension, tags, metadata pairs,
// uploader, element, retention policy and content type each become one
// term. A search for words with such filters is then one intersection of
// posting lists inside the index, which costs a fraction of testing every
// word match against the filters' rows elsewhere; filters on tags and
// metadata alone are found the same way.
//
// A term is a kind and a hash of the value, so that any value makes one
// token of letters and digits. On SQLite the terms live in a column of
// their own that query words never search; on PostgreSQL they start with
// '#', which no query word (letters and digits only) has as a prefix.

// The kinds of filter term.
const (
	termExt       = "fe"
	termTag       = "ft"
	termMeta      = "fm"
	termUploader  = "fu"
	termElement   = "fs"
	termRetention = "fr"
	termType      = "fc" // the whole content type
	termMajorType = "fk" // the content type up to and including its '/'
)

// filterTerm returns the term for one filter value.
func filterTerm(kind, value string) string {
	sum := sha256.Sum256([]byte(value))
	return kind + hex.EncodeToString(sum[:12])
}

// metaTerm returns the term of a metadata pair.
func metaTerm(key, value string) string { return filterTerm(termMeta, key+"\x00"+value) }

// fileTerms returns the filter terms of a live file on an element, from
// the same values its row in cat_files holds, tags and metadata values
// cleaned alike.
func fileTerms(f *artstore.File, element string) []string {
	ct := strings.ToLower(clean(f.ContentType))
	terms := []string{
		filterTerm(termExt, extOf(f.OriginalFilename)),
		filterTerm(termUploader, clean(f.UploadedBy)),
		filterTerm(termElement, element),
		filterTerm(termRetention, clean(string(f.RetentionPolicy))),
		filterTerm(termType, ct),
	}
	if i := strings.IndexByte(ct, '/'); i >= 0 {
		terms = append(terms, filterTerm(termMajorType, ct[:i+1]))
	}
	for _, t := range f.Tags {
		terms = append(terms, filterTerm(termTag, clean(t)))
	}
	seen := map[string]bool{} // of keys that clean to the same one, the first counts
	for _, k := range sortedKeys(f.Metadata) {
		if ck := clean(k); !seen[ck] {
			seen[ck] = true
			terms = append(terms, metaTerm(ck, clean(metaString(f.Metadata[k]))))
		}
	}
	return terms
}
