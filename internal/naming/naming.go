// Package naming decides where a file lives inside a storage element: the
// hourly directory of its upload time, a storage name that a person can still
// read, and the attr.json sidecar beside it. It also checks the names callers
// give so that no name can escape its directory.
package naming

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/errs"
)

const (
	// MaxOriginalName is the longest original file name accepted, in bytes.
	MaxOriginalName = 255
	// MaxStorageName is the longest storage name produced, in bytes.
	MaxStorageName = 200
	// SidecarSuffix ends the key of every sidecar.
	SidecarSuffix = ".attr.json"

	maxUploader = 32
	maxExt      = 16
	timeLayout  = "20060102T150405"
)

// CheckOriginalName reports an errs.Invalid error when name cannot be
// accepted as a file's original name: empty, longer than MaxOriginalName
// bytes, not UTF-8, holding a path separator or a control character, or one
// of "." and "..".
func CheckOriginalName(name string) error {
	const op = "naming.CheckOriginalName"
	switch {
	case name == "":
		return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name is empty"))
	case len(name) > MaxOriginalName:
		return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name is %d bytes long; at most %d are allowed", len(name), MaxOriginalName))
	case !utf8.ValidString(name):
		return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name is not valid UTF-8"))
	case name == "." || name == "..":
		return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("%q is not a file name", name))
	}
	for _, r := range name {
		if r == '/' || r == '\\' {
			return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name %q holds a path separator", name))
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name %q holds a control character", name))
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			// Such marks make a name read otherwise than it is
			// ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf").
			return errs.E(op, errs.Invalid, errs.Code("INVALID_FILENAME"), errs.Msg("the file name %q holds a bidirectional control character (U+%04X)", name, r))
		}
	}
	return nil
}

// CheckFileID reports an errs.Invalid error unless id is a canonical
// (lower-case, hyphenated) UUID, the only form file ids take.
func CheckFileID(id string) error {
	bad := func() error {
		return errs.E(errs.Invalid, errs.Code("INVALID_FILE_ID"), errs.Msg("file id %q is not a lower-case UUID", errs.Brief(id)))
	}
	if len(id) != 36 {
		return bad()
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return bad()
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return bad()
			}
		}
	}
	return nil
}

// Dir is the directory of a file uploaded at t: "YYYY/MM/DD/HH/" in UTC.
func Dir(t time.Time) string {
	return t.UTC().Format("2006/01/02/15/")
}

// StorageName is the name under which a file is stored:
// {stem}_{uploader}_{YYYYMMDDTHHMMSS}_{fileID}{ext}, every part sanitised
// (no separators, control characters or ".."; other Unicode kept) and the
// whole at most MaxStorageName bytes. The file id keeps it unique.
func StorageName(original, uploader string, t time.Time, fileID string) string {
	stem, ext := splitExt(original)
	if !goodExt(ext) {
		stem, ext = original, ""
	}
	up := truncate(clean(uploader), maxUploader)
	if up == "" {
		up = "anonymous"
	}
	tail := "_" + up + "_" + t.UTC().Format(timeLayout) + "_" + fileID + ext
	stem = truncate(clean(stem), MaxStorageName-len(tail))
	if stem == "" {
		stem = "file"
	}
	return stem + tail
}

// SidecarKey is the key of the sidecar of the file stored under key.
func SidecarKey(key string) string { return key + SidecarSuffix }

// IsSidecarKey tells whether key names a sidecar.
func IsSidecarKey(key string) bool { return strings.HasSuffix(key, SidecarSuffix) }

// ContentKey is the key of the file whose sidecar is stored under key.
func ContentKey(sidecarKey string) string { return strings.TrimSuffix(sidecarKey, SidecarSuffix) }

// splitExt splits name into a stem and an extension that starts with a dot;
// a leading dot (".profile") is part of the stem.
func splitExt(name string) (string, string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	return name[:i], name[i:]
}

// goodExt tells whether ext, if not empty, is a dot followed by at most
// maxExt-1 bytes of letters and digits: an extension worth keeping as such.
func goodExt(ext string) bool {
	if len(ext) > maxExt {
		return false
	}
	for _, r := range ext[min(1, len(ext)):] {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// clean replaces everything that could change the meaning of a path, or
// that is awkward in a file name on common file systems, by '_', and breaks
// up runs of dots so that ".." never appears.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevDot := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), !unicode.IsPrint(r) && r != ' ',
			strings.ContainsRune(`/\:*?"<>|`, r):
			r = '_'
		case r == '.' && prevDot:
			r = '_'
		}
		prevDot = r == '.'
		b.WriteRune(r)
	}
	return b.String()
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
