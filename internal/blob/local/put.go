package local

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// Put streams r into a new file that has no name yet, makes it durable and
// only then gives it its name under key. Readers therefore see the old
// object or the whole new one. Where the system can create unnamed files
// (O_TMPFILE on Linux) a crash leaves nothing behind at all; elsewhere the
// file is written under a temporary name in TmpDir, which Open sweeps.
//
// When size is not negative the reader must yield exactly size bytes;
// anything else is Invalid and stores nothing.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) (written int64, err error) {
	return b.PutWithOptions(ctx, key, r, size, blob.PutOptions{})
}

// PutWithOptions is Put with options: BeforeVisible runs after the new
// file is fsynced and before it gets its name, and DeferDirSync skips the
// fsync of the destination directory.
func (b *Backend) PutWithOptions(ctx context.Context, key string, r io.Reader, size int64, opts blob.PutOptions) (written int64, err error) {
	const op = "local.Put"
	if err := checkKey(op, key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, errs.E(op, err)
	}
	dst := b.path(key)
	dir := filepath.Dir(dst)
	t, err := b.createTemp(dir)
	if err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	defer func() {
		if err != nil {
			t.discard()
		}
	}()

	src := blob.ContextReader(ctx, r)
	if size >= 0 {
		// Read one byte beyond the announced size, enough to tell that
		// the reader is too long without storing all of the excess.
		src = io.LimitReader(src, size+1)
	}
	written, err = copyTo(t.f, src, size)
	if err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	if size >= 0 && written != size {
		return 0, errs.E(op, errs.Invalid, errs.Msg("announced %d bytes, reader gave %s", size, countString(written, size)))
	}
	if err = t.f.Sync(); err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	if opts.BeforeVisible != nil {
		if err = opts.BeforeVisible(); err != nil {
			return 0, err
		}
	}
	if err = b.publish(t, dst); err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	if opts.DeferDirSync {
		return written, nil
	}
	if err = b.dirs.Sync(dir); err != nil {
		// The object is in place but may not survive a crash; report
		// failure so the caller does not rely on it.
		return 0, errs.E(op, putKind(err), err)
	}
	return written, nil
}

// tempFile is a file being written by Put: unnamed (name == "") or under a
// temporary name in TmpDir.
type tempFile struct {
	f    *os.File
	name string
}

// discard closes the file and removes its temporary name, if any.
func (t *tempFile) discard() {
	if t.f != nil {
		t.f.Close()
	}
	if t.name != "" {
		os.Remove(t.name)
	}
}

// createTemp creates the file a Put writes. It tries an unnamed file in
// dir first, which needs dir to exist; it falls back to a named file in
// TmpDir once the file system has said it cannot create unnamed files.
func (b *Backend) createTemp(dir string) (*tempFile, error) {
	if !b.noUnnamed.Load() {
		if err := b.mkdirAll(dir); err != nil {
			return nil, err
		}
		f, err := openUnnamed(dir)
		if err == nil {
			return &tempFile{f: f}, nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			return nil, err
		}
		b.noUnnamed.Store(true)
	}
	// CreateTemp picks a random unused name and creates the file with
	// mode 0600.
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return nil, err
	}
	return &tempFile{f: f, name: f.Name()}, nil
}

// publish gives a durable file its name dst, replacing what is there, and
// closes it. The file's data is durable; the new directory entry is not
// until the directory is synced.
func (b *Backend) publish(t *tempFile, dst string) error {
	dir := filepath.Dir(dst)
	// A concurrent Delete may remove dst's directory when it empties it;
	// linking or renaming then fails with ENOENT and we simply create the
	// directory again.
	for attempt := 0; ; attempt++ {
		err := b.mkdirAll(dir)
		if err == nil {
			err = b.name(t, dst)
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			if err == nil {
				err = t.f.Close()
				t.f = nil
			}
			return err
		}
	}
}

// name links an unnamed file at dst or renames a named one there.
func (b *Backend) name(t *tempFile, dst string) error {
	if t.name != "" {
		if err := os.Rename(t.name, dst); err != nil {
			return err
		}
		t.name = ""
		return nil
	}
	err := linkUnnamed(t.f, dst)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	// A link cannot replace an object: name the file in TmpDir and
	// rename it over dst.
	tmp := filepath.Join(b.tmp, "put-"+strconv.FormatUint(rand.Uint64(), 36))
	if err := linkUnnamed(t.f, tmp); err != nil {
		return err
	}
	t.name = tmp
	return b.name(t, dst)
}

// putKind classifies errors while writing. Unlike for reads, a file where a
// directory is expected (or the reverse) is a clash between keys such as
// "a" and "a/b", which a file system cannot hold side by side. A missing
// file or directory here is our own temporary file or directory gone
// astray, not a missing object, so it is left unclassified.
func putKind(err error) errs.Kind {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return errs.Conflict
	}
	if k := fsKind(err); k != errs.NotExist {
		return k
	}
	return errs.Other
}

// mkdirAll creates dir and its missing parents, fsyncing the parent of each
// directory it creates so that the new entries are durable before an object
// is renamed into them.
func (b *Backend) mkdirAll(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) || dir == b.root {
		return err
	}
	parent := filepath.Dir(dir)
	if err := b.mkdirAll(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		// Another Put may have created it meanwhile. We still sync the
		// parent below, because that Put may not have done so yet.
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return err
		}
	}
	return b.dirs.Sync(parent)
}

// countString describes how many bytes a reader gave, given that at most
// size+1 of them were read.
func countString(got, size int64) string {
	if got > size {
		return "more"
	}
	return strconv.FormatInt(got, 10)
}
