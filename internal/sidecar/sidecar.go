// Package sidecar owns the attr.json format: the metadata file stored next to
// every blob as <storage-name>.attr.json. The sidecar is the source of truth
// for a file's metadata and every database in ArtStore is a cache rebuilt
// from sidecars, so the codec is exact and lossless: Encode writes schema 2.0
// and refuses any File it could not read back identically, and whatever
// Decode accepts, Encode writes back and Decode reads again as the same File.
//
// Decode also reads every v1 shape the original Python system wrote or
// documented (see the reference, §4.4). It maps their field names onto
// artstore.File; the aliases and defaults are listed in decode.go. The
// decisions that matter most for legacy files:
//
//   - A sidecar without a retention_policy is "temporary" when it carries an
//     expiry (expires_at, retention_expires_at or ttl_expires_at) and
//     "permanent" otherwise. v1 sidecars normally hold no retention at all,
//     because the original kept retention only in its central registry; a
//     default of permanent can never cause a deletion, while an explicit
//     expiry is the writer's own statement that the file was meant to go.
//   - In a v1 sidecar, top-level keys that File has no field for (custom
//     keys of the documented shape, md5_hash, uploader_full_name,
//     retention_days, …) are kept in Metadata under their own names, so
//     rewriting a legacy sidecar as 2.0 loses nothing. In 2.0 such keys are
//     ignored, as the 2.0 schema says.
//   - Numbers inside Metadata decode as json.Number, not float64, so large
//     integers and exact decimals survive a decode and re-encode unchanged.
package sidecar

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/naming"
)

// SchemaVersion is the schema Encode writes.
const SchemaVersion = "2.0"

// MaxSize is the largest sidecar Encode writes and Decode reads. The original
// enforced 4 KiB, which long descriptions and custom attributes outgrow; the
// cap remains so that a corrupt or hostile file cannot exhaust memory during
// an index rebuild.
const MaxSize = 1 << 20

// maxDepth bounds the nesting of Metadata, counted in objects and arrays
// including Metadata itself. Encode and Decode share the bound, so a sidecar
// one accepts the other accepts too, and a cyclic map fails cleanly instead
// of recursing forever.
const maxDepth = 100

// timeLayout is RFC 3339 in UTC with a fixed nine-digit fraction. The fixed
// width keeps nanoseconds exactly and makes timestamps sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// wire is the 2.0 document. Field order here is the order in the file.
type wire struct {
	SchemaVersion    string         `json:"schema_version"`
	FileID           string         `json:"file_id"`
	OriginalFilename string         `json:"original_filename"`
	StorageFilename  string         `json:"storage_filename"`
	StoragePath      string         `json:"storage_path"`
	Size             int64          `json:"size"`
	ContentType      string         `json:"content_type"`
	Checksum         string         `json:"checksum"`
	UploadedBy       string         `json:"uploaded_by"`
	UploadedAt       string         `json:"uploaded_at"`
	UpdatedAt        string         `json:"updated_at"`
	Description      string         `json:"description"`
	Tags             []string       `json:"tags"`
	CustomAttributes map[string]any `json:"custom_attributes"`
	RetentionPolicy  string         `json:"retention_policy"`
	ExpiresAt        *string        `json:"expires_at"`
	Version          int64          `json:"version"`
	StorageElementID string         `json:"storage_element_id"`
	Compression      string         `json:"compression,omitempty"`
	StoredSize       int64          `json:"stored_size,omitempty"`
}

// Encode returns the schema 2.0 sidecar of f: indented JSON, UTF-8, without
// HTML escaping, ending in a newline. Nil Tags and Metadata are written as
// an empty array and object. It fails with errs.Invalid when f breaks a rule
// of the format (see check) or the result would exceed MaxSize.
func Encode(f *artstore.File) ([]byte, error) {
	const op = "sidecar.Encode"
	if f == nil {
		return nil, errs.E(op, errs.Invalid, errs.Msg("nil file"))
	}
	if err := check(op, f, false); err != nil {
		return nil, err
	}
	w := wire{
		SchemaVersion:    SchemaVersion,
		FileID:           f.FileID,
		OriginalFilename: f.OriginalFilename,
		StorageFilename:  f.StorageFilename,
		StoragePath:      f.StoragePath,
		Size:             f.Size,
		ContentType:      f.ContentType,
		Checksum:         f.Checksum,
		UploadedBy:       f.UploadedBy,
		UploadedAt:       formatTime(f.UploadedAt),
		UpdatedAt:        formatTime(f.UpdatedAt),
		Description:      f.Description,
		Tags:             f.Tags,
		CustomAttributes: f.Metadata,
		RetentionPolicy:  string(f.RetentionPolicy),
		Version:          f.Version,
		StorageElementID: f.StorageElementID,
		Compression:      f.Compression,
		StoredSize:       f.StoredSize,
	}
	if w.Tags == nil {
		w.Tags = []string{}
	}
	if w.CustomAttributes == nil {
		w.CustomAttributes = map[string]any{}
	}
	if f.ExpiresAt != nil {
		s := formatTime(*f.ExpiresAt)
		w.ExpiresAt = &s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&w); err != nil {
		// Metadata that JSON cannot represent (NaN, channels, malformed
		// json.Number) ends up here.
		return nil, errs.E(op, errs.Invalid, errs.Msg("metadata: %v", err))
	}
	if buf.Len() > MaxSize {
		return nil, errs.E(op, errs.Invalid, errs.Msg("sidecar is %d bytes; the limit is %d", buf.Len(), MaxSize))
	}
	// check has already rejected invalid strings it can see; a custom
	// json.Marshaler in Metadata could still emit bad bytes, and a sidecar
	// must never hold them.
	if !utf8.Valid(buf.Bytes()) {
		return nil, errs.E(op, errs.Invalid, errs.Msg("metadata produced invalid UTF-8"))
	}
	return buf.Bytes(), nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// check reports whether f obeys the rules of the format. Decode runs it too
// (with decoding set, which allows a missing storage name), which is what
// guarantees that every decoded File can be encoded again.
func check(op string, f *artstore.File, decoding bool) error {
	invalid := func(format string, args ...any) error {
		return errs.E(op, errs.Invalid, errs.Msg(format, args...))
	}
	strs := []struct{ name, val string }{
		{"file_id", f.FileID},
		{"original_filename", f.OriginalFilename},
		{"storage_filename", f.StorageFilename},
		{"storage_path", f.StoragePath},
		{"content_type", f.ContentType},
		{"checksum", f.Checksum},
		{"uploaded_by", f.UploadedBy},
		{"description", f.Description},
		{"retention_policy", string(f.RetentionPolicy)},
		{"storage_element_id", f.StorageElementID},
	}
	for _, s := range strs {
		if !utf8.ValidString(s.val) {
			return invalid("%s is not valid UTF-8", s.name)
		}
	}
	switch {
	case f.Compression != "" && f.Compression != "zstd":
		return invalid("unknown compression %q", errs.Brief(f.Compression))
	case f.StoredSize < 0 || (f.Compression == "" && f.StoredSize != 0):
		return invalid("stored_size %d does not fit compression %q", f.StoredSize, f.Compression)
	}
	for i, tag := range f.Tags {
		if !utf8.ValidString(tag) {
			return invalid("tag %d is not valid UTF-8", i)
		}
	}
	if naming.CheckFileID(f.FileID) != nil {
		return invalid("file_id %q is not a lower-case UUID", errs.Brief(f.FileID))
	}
	if f.OriginalFilename == "" {
		return invalid("original_filename is empty")
	}
	if f.StorageFilename == "" && !decoding {
		return invalid("storage_filename is empty")
	}
	// The storage name is joined to the storage path to form the blob key;
	// a separator or dot segment here would point outside the directory.
	if f.StorageFilename == "." || f.StorageFilename == ".." ||
		strings.ContainsAny(f.StorageFilename, "/\\\x00") {
		return invalid("storage_filename %q is not a plain file name", errs.Brief(f.StorageFilename))
	}
	if f.Size < 0 {
		return invalid("size %d is negative", f.Size)
	}
	if !isChecksum(f.Checksum) {
		return invalid("checksum %q is not 64 lower-case hex digits", errs.Brief(f.Checksum))
	}
	if f.Version < 1 {
		return invalid("version %d is below 1", f.Version)
	}
	if !f.RetentionPolicy.Valid() {
		return invalid("retention_policy %q is unknown", errs.Brief(string(f.RetentionPolicy)))
	}
	if err := checkTime(op, "uploaded_at", f.UploadedAt); err != nil {
		return err
	}
	if err := checkTime(op, "updated_at", f.UpdatedAt); err != nil {
		return err
	}
	if f.ExpiresAt != nil {
		if err := checkTime(op, "expires_at", *f.ExpiresAt); err != nil {
			return err
		}
	}
	if f.Metadata != nil {
		if err := checkValue(reflect.ValueOf(f.Metadata), 1); err != nil {
			return errs.E(op, errs.Invalid, errs.Msg("metadata: %v", err))
		}
	}
	return nil
}

// checkTime rejects instants whose UTC year has other than four digits:
// RFC 3339 cannot express them, so they would not survive a round trip.
func checkTime(op, name string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return errs.E(op, errs.Invalid, errs.Msg("%s year %d is outside 0000-9999", name, y))
	}
	return nil
}

// checkValue walks a metadata value and rejects strings that are not valid
// UTF-8 (encoding/json would silently replace them, losing data) and nesting
// deeper than maxDepth. Everything else is left to encoding/json.
func checkValue(v reflect.Value, depth int) error {
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return errs.Msg("string %q is not valid UTF-8", errs.Brief(v.String()))
		}
		return nil
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), depth)
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		// A pointer counts as a level so that a value pointing at itself
		// is caught by the limit as surely as a map containing itself.
		if depth > maxDepth {
			return errs.Msg("nested deeper than %d levels", maxDepth)
		}
	default:
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return checkValue(v.Elem(), depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := checkValue(it.Key(), depth+1); err != nil {
				return err
			}
			if err := checkValue(it.Value(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes are written as base64
		}
		for i := range v.Len() {
			if err := checkValue(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if err := checkValue(v.Field(i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func isChecksum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
