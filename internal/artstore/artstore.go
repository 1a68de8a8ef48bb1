// Package artstore is ArtStore's vocabulary: the domain types (files, storage
// elements, modes, retention, journal entries, principals) and the service
// interfaces through which the roles talk to each other. An interface here is
// implemented both by the in-process service and by its HTTP client, so a
// caller does not know whether the service runs in the same process.
//
// The package imports nothing else from ArtStore except the error kinds.
package artstore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"time"
)

// Version is the software version reported by every service.
var Version = "0.1.0-dev"

// Mode is the mode of a storage element (DESIGN §1).
type Mode string

// The modes of a storage element.
const (
	ModeEdit Mode = "edit" // working files: create, read, update, delete
	ModeRW   Mode = "rw"   // permanent files being filled: create, read, update
	ModeRO   Mode = "ro"   // sealed: read only
	ModeAR   Mode = "ar"   // archive: metadata only, content offline
)

// Valid reports whether m is one of the four modes.
func (m Mode) Valid() bool {
	switch m {
	case ModeEdit, ModeRW, ModeRO, ModeAR:
		return true
	}
	return false
}

// CanCreate reports whether new files may be written in mode m.
func (m Mode) CanCreate() bool { return m == ModeEdit || m == ModeRW }

// CanUpdate reports whether file metadata may change in mode m.
func (m Mode) CanUpdate() bool { return m == ModeEdit || m == ModeRW }

// CanDelete reports whether a user may delete files in mode m. The garbage
// collector's system delete is allowed in every mode.
func (m Mode) CanDelete() bool { return m == ModeEdit }

// CanReadContent reports whether file content can be served in mode m.
// An archive element keeps metadata only; its content is offline.
func (m Mode) CanReadContent() bool { return m != ModeAR }

// CanBecome reports whether an element may change from mode m to mode to.
// The lifecycle is rw → ro → ar; edit never changes.
func (m Mode) CanBecome(to Mode) bool {
	return (m == ModeRW && to == ModeRO) || (m == ModeRO && to == ModeAR)
}

// RetentionPolicy says how long a file is kept.
type RetentionPolicy string

// The retention policies.
const (
	Temporary RetentionPolicy = "temporary" // on an edit element, expires after a TTL
	Permanent RetentionPolicy = "permanent" // on an rw element, no expiry
)

// Valid reports whether p is a known policy.
func (p RetentionPolicy) Valid() bool { return p == Temporary || p == Permanent }

// Role is the role of a service account or of an admin user.
type Role string

// The roles. Service accounts are admin, user, auditor or readonly; admin
// users (people) are super_admin, admin or readonly.
const (
	RoleAdmin      Role = "admin"
	RoleUser       Role = "user"
	RoleAuditor    Role = "auditor"
	RoleReadonly   Role = "readonly"
	RoleSuperAdmin Role = "super_admin"
)

// ValidUserRole reports whether r is a role of admin users.
func (r Role) ValidUserRole() bool {
	return r == RoleSuperAdmin || r == RoleAdmin || r == RoleReadonly
}

// Known reports whether r is any role a token may carry.
func (r Role) Known() bool { return r.Valid() || r == RoleSuperAdmin }

// Valid reports whether r is a known service-account role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleUser, RoleAuditor, RoleReadonly:
		return true
	}
	return false
}

// File is the metadata of one stored file. It is what the sidecar holds,
// what the index caches and what the API returns.
type File struct {
	FileID           string          `json:"file_id"`
	OriginalFilename string          `json:"original_filename"`
	StorageFilename  string          `json:"storage_filename"`
	StoragePath      string          `json:"storage_path"` // directory, e.g. "2025/01/02/15/"
	Size             int64           `json:"size"`
	ContentType      string          `json:"content_type"`
	Checksum         string          `json:"checksum"` // SHA-256, lower-case hex
	UploadedBy       string          `json:"uploaded_by"`
	UploadedAt       time.Time       `json:"uploaded_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Description      string          `json:"description"`
	Tags             []string        `json:"tags"`
	Metadata         Metadata        `json:"metadata"`
	RetentionPolicy  RetentionPolicy `json:"retention_policy"`
	ExpiresAt        *time.Time      `json:"expires_at"`
	Version          int64           `json:"version"`
	StorageElementID string          `json:"storage_element_id"`
	// Compression is how the content is stored: "" (as is) or "zstd"
	// (the seekable format). Size and Checksum are always those of the
	// original bytes; StoredSize is what the backend holds when
	// compressed.
	Compression string `json:"compression,omitempty"`
	StoredSize  int64  `json:"stored_size,omitempty"`
}

// Key is the file's blob key inside its storage element.
func (f *File) Key() string { return f.StoragePath + f.StorageFilename }

// Capacity describes the space of a storage element, in bytes.
type Capacity struct {
	Total     int64 `json:"total"` // the configured limit; 0 means unlimited
	Used      int64 `json:"used"`
	Available int64 `json:"available"`
}

// ElementInfo identifies a storage element and describes its state.
type ElementInfo struct {
	ElementID string   `json:"element_id"`
	Mode      Mode     `json:"mode"`
	Priority  int      `json:"priority"`
	Capacity  Capacity `json:"capacity"`
	FileCount int64    `json:"file_count"`
	Backend   string   `json:"backend"`
	Version   string   `json:"version"`
	JournalID string   `json:"journal_id"`
	LastSeq   int64    `json:"last_seq"`
}

// ChangeType is the type of a journal entry.
type ChangeType string

// The journal entry types.
const (
	FileCreated ChangeType = "file.created"
	FileUpdated ChangeType = "file.updated"
	FileDeleted ChangeType = "file.deleted"
)

// Change is one entry of a storage element's journal.
type Change struct {
	Seq     int64      `json:"seq"`
	Type    ChangeType `json:"type"`
	FileID  string     `json:"file_id"`
	Version int64      `json:"version"`
	At      time.Time  `json:"at"`
	File    *File      `json:"file"`
}

// Changes is a page of a journal. JournalID changes when a journal is
// rebuilt from sidecars, which tells consumers to resynchronise.
type Changes struct {
	Items     []Change `json:"items"`
	LastSeq   int64    `json:"last_seq"`
	JournalID string   `json:"journal_id"`
}

// MaxListed is how many file ids of each kind the report of a run over
// many files (reconciliation, garbage collection) names; it counts them
// all.
const MaxListed = 100

// Note records fileID in a report's list and count, naming no more than
// MaxListed.
func Note(list *[]string, count *int, fileID string) {
	if *count < MaxListed {
		*list = append(*list, fileID)
	}
	*count++
}

// Metadata is a file's custom metadata: any JSON object. It decodes numbers
// as json.Number, so that an integer beyond 2^53 or a decimal keeps every
// digit it was written with instead of being rounded to a float64.
type Metadata map[string]any

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*m = v
	return nil
}

// NewFile is what a caller says about a file it uploads.
type NewFile struct {
	FileID          string // optional; a UUID chosen by the caller
	Filename        string // the original name, validated by the element
	ContentType     string // optional; detected when empty
	Size            int64  // expected size, or -1 when unknown
	Description     string
	Tags            []string
	Metadata        Metadata
	RetentionPolicy RetentionPolicy // empty means temporary
	ExpiresAt       *time.Time
	// Preserve, when set, carries a file over from another element (as
	// finalize does): it keeps the uploader and upload time and takes a
	// version above the source's. Only trusted callers may set it.
	Preserve *Preserved
	// ExpectChecksum, when set, is the SHA-256 (hex) the content must
	// have; otherwise the upload fails with code CHECKSUM_MISMATCH and
	// nothing is stored or journaled.
	ExpectChecksum string
	// Compression asks for the content to be stored compressed: "" or
	// "zstd".
	Compression string
}

// Preserved is what a copied file keeps of its source.
type Preserved struct {
	UploadedBy string    `json:"uploaded_by"`
	UploadedAt time.Time `json:"uploaded_at"`
	Version    int64     `json:"version"`
}

// FilePatch changes a file's metadata; nil fields are left alone.
type FilePatch struct {
	Description *string   `json:"description,omitempty"`
	Tags        *[]string `json:"tags,omitempty"`
	Metadata    *Metadata `json:"metadata,omitempty"`
	// MinVersion, when set, is the least version the update gives the
	// file; only role admin may set it on an element, and clients never.
	// Rolling back a finalize whose copy a catalog has seen uses it, so
	// that the temporary copy outranks the copy's deletion.
	MinVersion int64 `json:"min_version,omitempty"`
}

// Page is the pagination of a list request.
type Page struct {
	Limit  int
	Offset int
	// After, when set, is the Next of the previous page: the page starts
	// with the file that followed that page's last, and Offset is not
	// used. Unlike an offset it neither skips nor repeats files when files
	// come and go between pages, and costs the same however deep.
	After string
	// ByID lists the files in file id order instead of newest first; Next
	// is then the last file id of the page. Reconciliation walks an
	// element this way, side by side with a catalog in the same order.
	ByID bool
}

// FileList is a page of files, newest first or in file id order.
type FileList struct {
	Items   []File `json:"items"`
	Total   int64  `json:"total"`
	Limit   int    `json:"limit"`
	Offset  int    `json:"offset"`
	HasMore bool   `json:"has_more"`
	// Next is the After of the next page, when there is one.
	Next string `json:"next,omitempty"`
}

// Element is a storage element: one store of files with its sidecars, index
// and journal. The caller's identity travels in the context (see Principal).
type Element interface {
	Info(ctx context.Context) (ElementInfo, error)
	Upload(ctx context.Context, f NewFile, content io.Reader) (*File, error)
	Stat(ctx context.Context, fileID string) (*File, error)
	List(ctx context.Context, p Page) (FileList, error)
	// Open returns n bytes of the file's content starting at off; n < 0
	// means to the end. The range must lie within the file.
	Open(ctx context.Context, fileID string, off, n int64) (io.ReadCloser, error)
	Update(ctx context.Context, fileID string, p FilePatch) (*File, error)
	// Delete removes a file as a user would; the mode must allow it.
	Delete(ctx context.Context, fileID string) error
	// Purge removes a file in any mode, for the garbage collector. Purging
	// a missing file succeeds.
	Purge(ctx context.Context, fileID string) error
	SetMode(ctx context.Context, m Mode) (ElementInfo, error)
	// Changes returns journal entries after seq, waiting up to wait for one
	// to arrive when there are none.
	Changes(ctx context.Context, since int64, limit int, wait time.Duration) (Changes, error)
	Rebuild(ctx context.Context) (RebuildReport, error)
	Verify(ctx context.Context) (VerifyReport, error)
}

// RebuildReport says what rebuilding an index from sidecars found.
type RebuildReport struct {
	Sidecars  int      `json:"sidecars"`
	Indexed   int      `json:"indexed"`
	Invalid   []string `json:"invalid"` // sidecars that could not be read
	JournalID string   `json:"journal_id"`
	LastSeq   int64    `json:"last_seq"`
}

// VerifyReport says what an integrity check found.
type VerifyReport struct {
	Checked  int      `json:"checked"`
	Bytes    int64    `json:"bytes"`
	Missing  []string `json:"missing"`  // indexed files whose content is gone
	Corrupt  []string `json:"corrupt"`  // content whose checksum or size differs
	Orphaned []string `json:"orphaned"` // blobs or sidecars the index does not know
}

// OK reports whether the check found nothing wrong.
func (r VerifyReport) OK() bool {
	return len(r.Missing) == 0 && len(r.Corrupt) == 0 && len(r.Orphaned) == 0
}
