package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/naming"
	"github.com/artstore/artstore/internal/sidecar"
	"github.com/artstore/artstore/internal/zseek"
)

// Upload stores a new file: content first, then its sidecar, both durable;
// then, in one transaction, its index row and its journal entry. Only then
// does it return. The content is streamed; it is never held in memory.
func (e *Element) Upload(ctx context.Context, nf artstore.NewFile, content io.Reader) (*artstore.File, error) {
	const op = "storage.Upload"
	e.rebuild.RLock()
	defer e.rebuild.RUnlock()
	if m := e.Mode(); !m.CanCreate() {
		return nil, modeError(op, m, "uploads")
	}
	f, err := e.newFile(ctx, nf)
	if err != nil {
		return nil, errs.E(op, err)
	}
	release, err := e.reserveID(ctx, f.FileID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	defer release()
	cr := &countingReader{r: content, e: e, h: sha256.New()}
	defer cr.release()
	if nf.Size >= 0 {
		// A declared size is reserved before any content is read, so
		// that uploads running together cannot count on the same room.
		if err := cr.take(nf.Size); err != nil {
			return nil, errs.E(op, err)
		}
	}

	key := f.Key()
	// The intent must be durable before the content becomes visible under
	// its key, not before it is written: commit it while the content
	// streams, and have the backend wait for it just before publishing.
	intentErr := make(chan error, 1)
	go func() {
		intentErr <- e.c.do(context.WithoutCancel(ctx), func(t *txn) error {
			return e.x.putIntent(t.Tx, intent{FileID: f.FileID, Op: opPut, Key: key})
		})
	}()
	var intentOnce sync.Once
	var intentResult error
	waitIntent := func() error {
		intentOnce.Do(func() { intentResult = <-intentErr })
		return intentResult
	}
	// From here on, a failure must undo what was written; recovery does
	// the same after a crash, guided by the intent. Without a committed
	// intent nothing became visible, so there is nothing to undo.
	committed := false
	defer func() {
		if !committed && waitIntent() == nil {
			e.abandon(f.FileID, key)
		}
	}()

	if f.ContentType == "" {
		f.ContentType, cr.r = sniff(cr.r, f.OriginalFilename)
	}
	// The content's directory entry becomes durable with the sidecar's,
	// which goes into the same directory: until then the file does not
	// exist for recovery either.
	src, putSize, finish := io.Reader(cr), nf.Size, func() {}
	if f.Compression == "zstd" {
		src, finish = compress(cr)
		putSize = -1
	}
	n, err := blob.PutWithOptions(ctx, e.backend, key, src, putSize, blob.PutOptions{
		BeforeVisible: waitIntent,
		DeferDirSync:  true,
	})
	finish()
	if f.Compression == "zstd" {
		f.StoredSize, n = n, cr.n
	}
	if cr.err != nil {
		// The content's own failure (a malformed body, a full element)
		// says more than the backend's report of it.
		return nil, errs.E(op, cr.err)
	}
	if err != nil {
		return nil, errs.E(op, err)
	}
	if nf.Size >= 0 && n != nf.Size {
		return nil, errs.E(op, errs.Invalid, errs.Msg("content is %d bytes, %d declared", n, nf.Size))
	}
	f.Size = n
	f.Checksum = hex.EncodeToString(cr.h.Sum(nil))
	if nf.ExpectChecksum != "" && !strings.EqualFold(nf.ExpectChecksum, f.Checksum) {
		return nil, errs.E(op, errs.Conflict, errs.Code("CHECKSUM_MISMATCH"),
			errs.Msg("content has SHA-256 %s, %s expected", f.Checksum, errs.Brief(nf.ExpectChecksum)))
	}
	if err := e.writeSidecar(ctx, f); err != nil {
		return nil, errs.E(op, err)
	}
	err = e.c.do(ctx, func(t *txn) error {
		if err := e.x.dropIntent(t.Tx, f.FileID); err != nil {
			return err
		}
		if err := e.x.upsertFile(t.Tx, f); err != nil {
			return err
		}
		return t.appendChange(&artstore.Change{Type: artstore.FileCreated, FileID: f.FileID, Version: f.Version, At: f.UploadedAt, File: f})
	})
	if err != nil {
		return nil, errs.E(op, err)
	}
	committed = true
	e.mu.Lock()
	e.used += n
	e.count++
	e.mu.Unlock()
	return f, nil
}

// newFile validates what the caller says and fills in the metadata of the
// file to be written.
func (e *Element) newFile(ctx context.Context, nf artstore.NewFile) (*artstore.File, error) {
	if err := naming.CheckOriginalName(nf.Filename); err != nil {
		return nil, err
	}
	id := nf.FileID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	} else {
		u, err := uuid.Parse(id)
		if err != nil || len(id) != 36 {
			return nil, errs.E(errs.Invalid, errs.Msg("file_id %q is not a UUID", errs.Brief(id)))
		}
		id = u.String()
	}
	if nf.Compression != "" && nf.Compression != "zstd" {
		return nil, errs.E(errs.Invalid, errs.Msg("unknown compression %q: use zstd", errs.Brief(nf.Compression)))
	}
	if c := nf.ExpectChecksum; c != "" {
		if _, err := hex.DecodeString(c); err != nil || len(c) != 2*sha256.Size {
			return nil, errs.E(errs.Invalid, errs.Msg("checksum %q is not a SHA-256 in hex", errs.Brief(c)))
		}
	}
	policy := nf.RetentionPolicy
	if policy == "" {
		policy = artstore.Temporary
	}
	if !policy.Valid() {
		return nil, errs.E(errs.Invalid, errs.Msg("unknown retention_policy %q", policy))
	}
	if policy == artstore.Permanent && nf.ExpiresAt != nil {
		return nil, errs.E(errs.Invalid, errs.Msg("a permanent file does not expire: expires_at must not be set"))
	}
	if err := checkMeta(nf.Description, nf.Tags, nf.Metadata); err != nil {
		return nil, err
	}
	if nf.ContentType != "" {
		if _, _, err := mime.ParseMediaType(nf.ContentType); err != nil || len(nf.ContentType) > 255 {
			return nil, errs.E(errs.Invalid, errs.Msg("invalid content type %q", nf.ContentType))
		}
	}
	p, _ := artstore.PrincipalFrom(ctx)
	uploader := p.Subject
	if uploader == "" {
		uploader = "anonymous"
	}
	nameAs := p.Name
	if nameAs == "" {
		nameAs = uploader
	}
	now := time.Now().UTC()
	at, version := now, int64(1)
	if pr := nf.Preserve; pr != nil {
		if pr.UploadedBy == "" || pr.UploadedAt.IsZero() || pr.Version < 1 || pr.Version > maxVersion {
			return nil, errs.E(errs.Invalid, errs.Msg("preserve needs uploaded_by, uploaded_at and a version from 1 to %d", int64(maxVersion)))
		}
		uploader, nameAs = pr.UploadedBy, pr.UploadedBy
		at, version = pr.UploadedAt.UTC(), pr.Version
	}
	tags := uniqueTags(nf.Tags)
	md := nf.Metadata
	if md == nil {
		md = map[string]any{}
	}
	var expires *time.Time
	if nf.ExpiresAt != nil {
		t := nf.ExpiresAt.UTC()
		expires = &t
	}
	return &artstore.File{
		FileID:           id,
		OriginalFilename: nf.Filename,
		StorageFilename:  naming.StorageName(nf.Filename, nameAs, at, id),
		StoragePath:      naming.Dir(at),
		ContentType:      nf.ContentType,
		UploadedBy:       uploader,
		UploadedAt:       at,
		UpdatedAt:        now,
		Description:      nf.Description,
		Tags:             tags,
		Metadata:         md,
		RetentionPolicy:  policy,
		ExpiresAt:        expires,
		Version:          version,
		StorageElementID: e.cfg.ID,
		Compression:      nf.Compression,
	}, nil
}

// reserveID makes sure no file with id exists or is being written.
func (e *Element) reserveID(ctx context.Context, id string) (func(), error) {
	e.mu.Lock()
	if e.inflight[id] {
		e.mu.Unlock()
		return nil, errs.E(errs.Exist, errs.Msg("file %s is being uploaded", id))
	}
	e.inflight[id] = true
	e.mu.Unlock()
	release := func() {
		e.mu.Lock()
		delete(e.inflight, id)
		e.mu.Unlock()
	}
	if _, err := e.x.get(ctx, id); err == nil {
		release()
		return nil, errs.E(errs.Exist, errs.Msg("file %s already exists", id))
	} else if !errs.Is(errs.NotExist, err) {
		release()
		return nil, err
	}
	return release, nil
}

// abandon removes what a failed upload wrote, and its intent.
func (e *Element) abandon(fileID, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err1 := e.backend.Delete(ctx, naming.SidecarKey(key))
	err2 := e.backend.Delete(ctx, key)
	if err1 != nil || err2 != nil {
		// Keep the intent: recovery retries on the next start.
		e.log.Warn("could not remove a failed upload", "file_id", fileID, "err", errors.Join(err1, err2))
		return
	}
	if err := e.c.do(ctx, func(t *txn) error { return e.x.dropIntent(t.Tx, fileID) }); err != nil {
		e.log.Warn("could not drop the intent of a failed upload", "file_id", fileID, "err", err)
	}
}

// writeSidecar stores f's sidecar durably.
func (e *Element) writeSidecar(ctx context.Context, f *artstore.File) error {
	b, err := sidecar.Encode(f)
	if err != nil {
		return err
	}
	_, err = e.backend.Put(ctx, naming.SidecarKey(f.Key()), bytes.NewReader(b), int64(len(b)))
	return err
}

// countingReader hashes the content as it streams and takes capacity as
// bytes arrive beyond what was reserved, so that concurrent uploads cannot
// together overfill the element.
type countingReader struct {
	r     io.Reader
	e     *Element
	h     hash.Hash
	n     int64 // bytes read
	taken int64
	err   error // the first error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n += int64(n)
		c.h.Write(p[:n])
		if c.n > c.taken && c.e.cfg.Capacity > 0 {
			if rerr := c.take(c.n - c.taken); rerr != nil {
				c.err = rerr
				return 0, rerr
			}
		}
	}
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// take takes n more bytes of the element's room for this upload.
func (c *countingReader) take(n int64) error {
	e := c.e
	if e.cfg.Capacity <= 0 {
		return nil // nothing to count against
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if avail := e.availableLocked(); n > avail {
		return errs.E("storage.Upload", errs.NoSpace, errs.Code("CAPACITY_EXCEEDED"), errs.Msg("element %s has %d bytes available, %d more needed", e.cfg.ID, avail, n))
	}
	e.pending += n
	c.taken += n
	return nil
}

// release gives back the bytes taken; a successful upload has moved them
// to used by then.
func (c *countingReader) release() {
	c.e.mu.Lock()
	c.e.pending -= c.taken
	c.e.mu.Unlock()
}

// compress returns a reader of r's bytes in the seekable zstd format, and
// a function that waits until the compressor has stopped reading r, to be
// called once the reader is no longer read.
func compress(r io.Reader) (io.Reader, func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		zw := zseek.NewWriter(pw)
		_, err := io.Copy(zw, r)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, func() {
		pr.CloseWithError(io.ErrClosedPipe)
		<-done
	}
}

// sniff determines a content type from the name's extension, or failing
// that from the first bytes of the content, which it puts back.
func sniff(r io.Reader, name string) (string, io.Reader) {
	if ct := mime.TypeByExtension(strings.ToLower(path.Ext(name))); ct != "" {
		return ct, r
	}
	buf := make([]byte, 512)
	n, _ := io.ReadFull(r, buf)
	return http.DetectContentType(buf[:n]), io.MultiReader(bytes.NewReader(buf[:n]), r)
}

// Limits of file metadata.
const (
	maxDescription  = 4096
	maxTags         = 100
	maxTagLen       = 128
	maxMetadataJSON = 64 << 10
)
