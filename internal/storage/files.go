package storage

import (
	"context"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/naming"
	"github.com/artstore/artstore/internal/zseek"
)

// Stat returns a file's metadata.
func (e *Element) Stat(ctx context.Context, fileID string) (*artstore.File, error) {
	if err := checkID(fileID); err != nil {
		return nil, errs.E("storage.Stat", err)
	}
	f, err := e.x.get(ctx, fileID)
	if err != nil {
		return nil, errs.E("storage.Stat", err)
	}
	return f, nil
}

// List returns a page of files, newest first, or in file id order with
// p.ByID.
func (e *Element) List(ctx context.Context, p artstore.Page) (artstore.FileList, error) {
	const op = "storage.List"
	if p.Limit < 1 || p.Offset < 0 {
		return artstore.FileList{}, errs.E(op, errs.Invalid, errs.Msg("limit %d and offset %d: the limit must be positive and the offset not negative", p.Limit, p.Offset))
	}
	var after *listPos
	if p.After != "" {
		pos, err := parseListPos(p.After, p.ByID)
		if err != nil {
			return artstore.FileList{}, errs.E(op, err)
		}
		after, p.Offset = &pos, 0
	}
	// One file more than the page tells whether another page follows.
	items, err := e.x.list(ctx, p.Limit+1, p.Offset, after, p.ByID)
	if err != nil {
		return artstore.FileList{}, errs.E(op, err)
	}
	e.mu.Lock()
	total := e.count
	e.mu.Unlock()
	l := artstore.FileList{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset}
	if len(items) > p.Limit {
		l.Items, l.HasMore = items[:p.Limit], true
		last := l.Items[len(l.Items)-1]
		l.Next = listPos{uploadedAt: last.UploadedAt.UnixNano(), fileID: last.FileID}.String(p.ByID)
	}
	return l, nil
}

// listPos is a position in the order of a list: after the file uploaded at
// uploadedAt (Unix nanoseconds) with the id fileID. In file id order only
// the id counts.
type listPos struct {
	uploadedAt int64
	fileID     string
}

// String returns p as a Page.After of a list newest first, or in file id
// order with byID.
func (p listPos) String(byID bool) string {
	if byID {
		return p.fileID
	}
	return strconv.FormatInt(p.uploadedAt, 10) + "." + p.fileID
}

func parseListPos(s string, byID bool) (listPos, error) {
	bad := errs.E(errs.Invalid, errs.Msg("after is not the next of a list page in this order"))
	if byID {
		if checkID(s) != nil {
			return listPos{}, bad
		}
		return listPos{fileID: s}, nil
	}
	at, id, ok := strings.Cut(s, ".")
	if !ok {
		return listPos{}, bad
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil || checkID(id) != nil {
		return listPos{}, bad
	}
	return listPos{uploadedAt: n, fileID: id}, nil
}

// Open returns a range of a file's content.
func (e *Element) Open(ctx context.Context, fileID string, off, n int64) (io.ReadCloser, error) {
	const op = "storage.Open"
	if m := e.Mode(); !m.CanReadContent() {
		return nil, modeError(op, m, "reading content (an archive element keeps metadata only)")
	}
	f, err := e.Stat(ctx, fileID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	// The backend is asked for exactly the bytes the index records, so
	// that content shorter than recorded fails instead of ending early.
	n, err = blob.CheckRange(f.Size, off, n)
	if err != nil {
		return nil, errs.E(op, err)
	}
	rc, err := e.openContent(ctx, f, off, n)
	switch {
	case errs.Is(errs.NotExist, err):
		// The index knows the file but its content is gone: that is
		// damage, not a missing file.
		return nil, errs.E(op, errs.Internal, errs.Msg("content of file %s is missing from the backend", fileID))
	case errs.Is(errs.Invalid, err):
		// The range fits the file's size, so the backend refusing it
		// means the stored content is shorter than it should be: damage
		// too, not the caller's mistake.
		return nil, errs.E(op, errs.Internal, errs.Msg("content of file %s is damaged: %v", fileID, err))
	case err != nil:
		return nil, errs.E(op, err)
	}
	return &exactReader{rc: rc, left: n, fileID: fileID}, nil
}

// exactReader fails a read of content that ends before the bytes asked
// for, whatever the backend: a download must never end early as if whole.
type exactReader struct {
	rc     io.ReadCloser
	left   int64
	fileID string
}

func (r *exactReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	if err == io.EOF && r.left > 0 {
		err = r.short()
	}
	return n, err
}

// WriteTo keeps the backend's own WriteTo, through which a local file
// reaches the network with sendfile.
func (r *exactReader) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, r.rc) // through rc.WriteTo when it has one
	r.left -= n
	if err == nil && r.left > 0 {
		err = r.short()
	}
	return n, err
}

func (r *exactReader) short() error {
	return errs.E("storage.Open", errs.Internal, errs.Msg("content of file %s is damaged: it ended %d bytes early", r.fileID, r.left))
}

func (r *exactReader) Close() error { return r.rc.Close() }

// openContent returns n bytes of f's original content at off, decoding
// only the frames they need when the content is stored compressed.
func (e *Element) openContent(ctx context.Context, f *artstore.File, off, n int64) (io.ReadCloser, error) {
	key := f.Key()
	if f.Compression != "zstd" {
		return e.backend.Get(ctx, key, off, n)
	}
	get := func(ctx context.Context, off, n int64) (io.ReadCloser, error) { return e.backend.Get(ctx, key, off, n) }
	ix, err := zseek.ReadIndex(ctx, get, f.StoredSize, f.Size)
	if err != nil {
		return nil, err
	}
	if ix.Size() != f.Size {
		return nil, errs.E(errs.Internal, errs.Msg("compressed content of %s holds %d bytes, not %d", f.FileID, ix.Size(), f.Size))
	}
	return ix.Open(ctx, get, off, n)
}

// maxVersion bounds the least version an update may ask for, far below
// where the versions that follow it would overflow.
const maxVersion = 1 << 62

// Update changes a file's description, tags or metadata and bumps its
// version, to at least p.MinVersion; a patch that changes nothing and asks
// for no higher version leaves the file as it is. The sidecar is rewritten
// first; the index and journal follow.
func (e *Element) Update(ctx context.Context, fileID string, p artstore.FilePatch) (*artstore.File, error) {
	const op = "storage.Update"
	e.rebuild.RLock()
	defer e.rebuild.RUnlock()
	if m := e.Mode(); !m.CanUpdate() {
		return nil, modeError(op, m, "metadata updates")
	}
	if err := checkID(fileID); err != nil {
		return nil, errs.E(op, err)
	}
	unlock := e.lockFile(fileID)
	defer unlock()
	f, err := e.x.get(ctx, fileID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	old := *f
	if p.Description != nil {
		f.Description = *p.Description
	}
	if p.Tags != nil {
		f.Tags = uniqueTags(*p.Tags)
	}
	if p.Metadata != nil {
		f.Metadata = *p.Metadata
		if f.Metadata == nil {
			f.Metadata = map[string]any{}
		}
	}
	if err := checkMeta(f.Description, f.Tags, f.Metadata); err != nil {
		return nil, errs.E(op, err)
	}
	if p.MinVersion < 0 || p.MinVersion > maxVersion {
		return nil, errs.E(op, errs.Invalid, errs.Msg("min_version %d is not between 0 and %d", p.MinVersion, int64(maxVersion)))
	}
	if p.MinVersion <= f.Version && sameMeta(&old, f) {
		// Nothing changes: no new version, no journal entry.
		return &old, nil
	}
	f.Version = max(f.Version+1, p.MinVersion)
	f.UpdatedAt = time.Now().UTC()
	key := f.Key()
	if err := e.c.do(ctx, func(t *txn) error {
		return e.x.putIntent(t.Tx, intent{FileID: fileID, Op: opUpdate, Key: key})
	}); err != nil {
		return nil, errs.E(op, err)
	}
	if err := e.writeSidecar(ctx, f); err != nil {
		// The old sidecar is intact (Put is atomic), so the intent can go;
		// if even that fails, recovery finds the sidecar unchanged.
		e.dropIntent(fileID)
		return nil, errs.E(op, err)
	}
	err = e.c.do(ctx, func(t *txn) error {
		if err := e.x.dropIntent(t.Tx, fileID); err != nil {
			return err
		}
		if err := e.x.upsertFile(t.Tx, f); err != nil {
			return err
		}
		return t.appendChange(&artstore.Change{Type: artstore.FileUpdated, FileID: fileID, Version: f.Version, At: f.UpdatedAt, File: f})
	})
	if err != nil {
		// The sidecar is newer than the index; the intent stays, and
		// recovery brings the index up to the sidecar.
		return nil, errs.E(op, err)
	}
	return f, nil
}

// Delete removes a file as a user would: only in edit mode.
func (e *Element) Delete(ctx context.Context, fileID string) error {
	const op = "storage.Delete"
	if m := e.Mode(); !m.CanDelete() {
		return modeError(op, m, "deletes")
	}
	return e.remove(ctx, op, fileID, false)
}

// Purge removes a file in any mode, for the garbage collector. Purging a
// file that does not exist succeeds.
func (e *Element) Purge(ctx context.Context, fileID string) error {
	return e.remove(ctx, "storage.Purge", fileID, true)
}

// remove deletes the sidecar first, so that the source of truth says the
// file is gone before anything else changes, then the content, then the
// index row, journaling the deletion.
func (e *Element) remove(ctx context.Context, op, fileID string, idempotent bool) error {
	e.rebuild.RLock()
	defer e.rebuild.RUnlock()
	if err := checkID(fileID); err != nil {
		return errs.E(op, err)
	}
	unlock := e.lockFile(fileID)
	defer unlock()
	f, err := e.x.get(ctx, fileID)
	if errs.Is(errs.NotExist, err) && idempotent {
		return nil
	}
	if err != nil {
		return errs.E(op, err)
	}
	key := f.Key()
	if err := e.c.do(ctx, func(t *txn) error {
		return e.x.putIntent(t.Tx, intent{FileID: fileID, Op: opDelete, Key: key})
	}); err != nil {
		return errs.E(op, err)
	}
	// After the intent, the delete is bound to finish: if a step fails
	// here, recovery completes it on the next start.
	if err := e.backend.Delete(ctx, naming.SidecarKey(key)); err != nil {
		return errs.E(op, err)
	}
	if err := e.backend.Delete(ctx, key); err != nil {
		return errs.E(op, err)
	}
	if err := e.commitDelete(ctx, f); err != nil {
		return errs.E(op, err)
	}
	return nil
}

// commitDelete removes f's index row and intent and journals the deletion.
func (e *Element) commitDelete(ctx context.Context, f *artstore.File) error {
	err := e.c.do(ctx, func(t *txn) error {
		if err := e.x.dropIntent(t.Tx, f.FileID); err != nil {
			return err
		}
		if err := e.x.deleteFile(t.Tx, f.FileID); err != nil {
			return err
		}
		return t.appendChange(&artstore.Change{Type: artstore.FileDeleted, FileID: f.FileID, Version: f.Version + 1, At: time.Now().UTC(), File: f})
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.used -= f.Size
	e.count--
	e.mu.Unlock()
	return nil
}

func (e *Element) dropIntent(fileID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.c.do(ctx, func(t *txn) error { return e.x.dropIntent(t.Tx, fileID) }); err != nil {
		e.log.Warn("could not drop an intent", "file_id", fileID, "err", err)
	}
}

// checkID rejects file ids that are not canonical UUIDs.
func checkID(id string) error { return naming.CheckFileID(id) }

// uniqueTags returns tags without repeats, in the order first given, and
// an empty list for none.
func uniqueTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// sameMeta reports whether a and b have the same description, tags and
// metadata.
func sameMeta(a, b *artstore.File) bool {
	return a.Description == b.Description && slices.Equal(a.Tags, b.Tags) && reflect.DeepEqual(a.Metadata, b.Metadata)
}

// checkMeta enforces the limits of user-supplied metadata.
func checkMeta(description string, tags []string, md map[string]any) error {
	if len(description) > maxDescription || !utf8.ValidString(description) {
		return errs.E(errs.Invalid, errs.Msg("description must be valid UTF-8 of at most %d bytes", maxDescription))
	}
	if len(tags) > maxTags {
		return errs.E(errs.Invalid, errs.Msg("at most %d tags", maxTags))
	}
	for _, t := range tags {
		if t == "" || len(t) > maxTagLen || !utf8.ValidString(t) || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errs.E(errs.Invalid, errs.Msg("tag %q must be printable UTF-8 of 1 to %d bytes", errs.Brief(t), maxTagLen))
		}
	}
	b, err := json.Marshal(md)
	if err != nil || len(b) > maxMetadataJSON {
		return errs.E(errs.Invalid, errs.Msg("metadata must be a JSON object of at most %d bytes", maxMetadataJSON))
	}
	for k := range md {
		if k == "" || !utf8.ValidString(k) || len(k) > 256 {
			return errs.E(errs.Invalid, errs.Msg("metadata keys must be valid UTF-8 of 1 to 256 bytes"))
		}
	}
	return nil
}
