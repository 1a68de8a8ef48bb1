package sidecar

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Decode reads a sidecar of schema 2.0 or any legacy v1 shape. Each File
// field is read from the first of its names that is present and not null:
//
//	size               size, file_size, size_bytes                    (required)
//	content_type       content_type, mime_type       (absent: application/octet-stream)
//	checksum           checksum, sha256, sha256_hash (a "sha256:" prefix is
//	                   stripped and the hex lower-cased)               (required)
//	uploaded_by        uploaded_by, created_by_username, created_by, created_by_id
//	uploaded_at        uploaded_at, created_at                         (required)
//	updated_at         updated_at                     (absent: uploaded_at)
//	expires_at         expires_at, retention_expires_at, ttl_expires_at
//	metadata           custom_attributes over metadata (both are merged)
//	retention_policy   retention_policy (absent: temporary with an expiry,
//	                   permanent without; see the package comment)
//	version            a positive integer or a string of one; null, "" or
//	                   "None" mean 1; any other value means 1 and is kept
//	                   in metadata as "version", since the original let users
//	                   set free-text versions such as "1.2-draft".
//
// file_id and original_filename are required; a missing storage_filename is
// left empty, because the caller knows the blob key the sidecar sits next
// to. Timestamps may use 'T' or ' ' between date and time, any fraction, and
// a zone offset or none (a naive time is UTC); they are returned in UTC.
// Null stands for absent everywhere. A schema_version other than "1.0" or
// "2.0" is Invalid, as is anything the result would fail Encode for.
func Decode(data []byte) (*artstore.File, error) {
	const op = "sidecar.Decode"
	invalid := func(format string, args ...any) error {
		return errs.E(op, errs.Invalid, errs.Msg(format, args...))
	}
	if len(data) > MaxSize {
		return nil, invalid("sidecar is %d bytes; the limit is %d", len(data), MaxSize)
	}
	// encoding/json replaces invalid UTF-8 with U+FFFD; check the raw bytes
	// so that corruption is reported rather than silently rewritten.
	if !utf8.Valid(data) {
		return nil, invalid("sidecar is not valid UTF-8")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, invalid("sidecar is not a JSON object: %v", err)
	}
	if top == nil {
		return nil, invalid("sidecar is null")
	}
	r := &reader{op: op, m: top, known: make(map[string]bool)}

	v2 := false
	if schema, ok := r.str("schema_version"); ok {
		switch schema {
		case "1.0":
		case "2.0":
			v2 = true
		default:
			return nil, invalid("unknown schema_version %q", errs.Brief(schema))
		}
	}

	f := &artstore.File{}
	var ok bool
	if f.FileID, ok = r.str("file_id"); !ok && r.err == nil {
		return nil, invalid("file_id is missing")
	}
	// Python wrote str(uuid), which is lower case; accept an upper-case
	// spelling from other writers and store the canonical one.
	f.FileID = strings.ToLower(f.FileID)
	if f.OriginalFilename, ok = r.str("original_filename"); !ok && r.err == nil {
		return nil, invalid("original_filename is missing")
	}
	f.StorageFilename, _ = r.str("storage_filename")
	f.StoragePath, _ = r.str("storage_path")
	if f.Size, ok = r.int("size", "file_size", "size_bytes"); !ok && r.err == nil {
		return nil, invalid("size is missing")
	}
	if f.ContentType, ok = r.str("content_type", "mime_type"); !ok {
		f.ContentType = "application/octet-stream"
	}
	sum, ok := r.str("checksum", "sha256", "sha256_hash")
	if !ok && r.err == nil {
		return nil, invalid("checksum is missing")
	}
	if len(sum) > 7 && strings.EqualFold(sum[:7], "sha256:") {
		sum = sum[7:]
	}
	f.Checksum = strings.ToLower(sum)
	// Usernames come before ids: a name is what people search for.
	f.UploadedBy, _ = r.str("uploaded_by", "created_by_username", "created_by", "created_by_id")
	if f.UploadedAt, ok = r.time("uploaded_at", "created_at"); !ok && r.err == nil {
		return nil, invalid("uploaded_at is missing")
	}
	if f.UpdatedAt, ok = r.time("updated_at"); !ok {
		f.UpdatedAt = f.UploadedAt
	}
	if t, ok := r.time("expires_at", "retention_expires_at", "ttl_expires_at"); ok {
		f.ExpiresAt = &t
	}
	f.Description, _ = r.str("description")
	f.Tags = r.tags("tags")
	f.StorageElementID, _ = r.str("storage_element_id")

	if p, ok := r.str("retention_policy"); ok {
		f.RetentionPolicy = artstore.RetentionPolicy(strings.ToLower(strings.TrimSpace(p)))
	} else if f.ExpiresAt != nil {
		f.RetentionPolicy = artstore.Temporary
	} else {
		f.RetentionPolicy = artstore.Permanent
	}

	// Metadata, lowest precedence first: legacy keys File has no field
	// for (v1 only), a free-text version, the v1 metadata object, the 2.0
	// custom_attributes. A Python 2.0 file migrated from v1 may hold both
	// of the last two, so both are merged rather than one chosen.
	md := make(map[string]any)
	var label any
	f.Version, label = r.version("version")
	r.object(md, "metadata")
	r.object(md, "custom_attributes")
	if !v2 {
		for k, raw := range top {
			if r.known[k] || isNull(raw) {
				continue
			}
			if _, taken := md[k]; !taken {
				md[k] = r.value(k, raw)
			}
		}
	}
	if label != nil {
		if _, taken := md["version"]; !taken {
			md["version"] = label
		}
	}
	f.Metadata = md
	if v2 {
		f.Compression, _ = r.str("compression")
		f.StoredSize, _ = r.int("stored_size")
	}

	if r.err != nil {
		return nil, r.err
	}
	if err := check(op, f, true); err != nil {
		return nil, err
	}
	return f, nil
}

// reader reads fields from a sidecar's top-level object. It remembers the
// first error, so that Decode reads straight through and checks once, and
// the names it was asked for, so that the remaining keys can be kept.
type reader struct {
	op    string
	m     map[string]json.RawMessage
	known map[string]bool
	err   error
}

// first returns the name and value of the first of names present with a
// non-null value. Every name counts as known whether present or not.
func (r *reader) first(names ...string) (string, json.RawMessage) {
	for _, n := range names {
		r.known[n] = true
	}
	for _, n := range names {
		if raw, ok := r.m[n]; ok && !isNull(raw) {
			return n, raw
		}
	}
	return "", nil
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = errs.E(r.op, errs.Invalid, errs.Msg(name+": "+format, args...))
	}
}

func (r *reader) str(names ...string) (string, bool) {
	name, raw := r.first(names...)
	if raw == nil {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.fail(name, "want a string")
		return "", false
	}
	return s, true
}

func (r *reader) int(names ...string) (int64, bool) {
	name, raw := r.first(names...)
	if raw == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		r.fail(name, "want an integer, have %s", errs.Brief(string(raw)))
		return 0, false
	}
	return n, true
}

func (r *reader) time(names ...string) (time.Time, bool) {
	name, raw := r.first(names...)
	if raw == nil {
		return time.Time{}, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.fail(name, "want a timestamp string")
		return time.Time{}, false
	}
	t, err := parseTime(s)
	if err != nil {
		r.fail(name, "%q is not a timestamp", errs.Brief(s))
		return time.Time{}, false
	}
	return t, true
}

// tags returns the tag list, never nil, so that an absent list and an empty
// one decode alike.
func (r *reader) tags(names ...string) []string {
	tags := []string{}
	name, raw := r.first(names...)
	if raw != nil {
		if err := json.Unmarshal(raw, &tags); err != nil {
			r.fail(name, "want an array of strings")
			return []string{}
		}
	}
	return tags
}

// version implements the version rule of Decode. It returns the version and
// the original value when that must be kept in metadata.
func (r *reader) version(names ...string) (int64, any) {
	name, raw := r.first(names...)
	if raw == nil {
		return 1, nil
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n >= 1 {
		return n, nil
	}
	v := r.value(name, raw)
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if t == "" || t == "None" {
			return 1, nil
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil && n >= 1 {
			return n, nil
		}
	}
	return 1, v
}

// object merges the JSON object under name into md.
func (r *reader) object(md map[string]any, name string) {
	name, raw := r.first(name)
	if raw == nil {
		return
	}
	m, ok := r.value(name, raw).(map[string]any)
	if !ok {
		r.fail(name, "want an object")
		return
	}
	for k, v := range m {
		md[k] = v
	}
}

// value decodes any JSON value, keeping numbers as json.Number so that no
// precision is lost.
func (r *reader) value(name string, raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		r.fail(name, "%v", err)
	}
	return v
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// parseTime accepts the timestamp spellings found in sidecars: RFC 3339
// with or without a fraction, Python's str(datetime) with a space instead
// of 'T', offsets with or without a colon, and naive times, which the
// original wrote in UTC.
func parseTime(s string) (time.Time, error) {
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	var err error
	for _, layout := range []string{
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04:05",
	} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
