package sqldb

import (
	"strings"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/errs"
)

// CheckText tells why s cannot be stored as text in both databases, as a
// message that follows the name of the field: PostgreSQL takes neither
// invalid UTF-8 nor NUL bytes. It returns nil when s can be stored.
func CheckText(s string) error {
	if !utf8.ValidString(s) {
		return errs.Msg("is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errs.Msg("contains a NUL byte")
	}
	return nil
}

// LikeContains returns the LIKE pattern, for use with ESCAPE '\', that
// matches text containing s.
func LikeContains(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}
