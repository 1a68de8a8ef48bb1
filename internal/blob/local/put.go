package local

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/artstore/artstore/internal/errs"
)

// Put streams r into a temporary file, makes it durable and renames it over
// key. Readers therefore see the old object or the whole new one, and a
// crash at any point leaves at most a stray temporary file, which Open
// sweeps away.
//
// When size is not negative the reader must yield exactly size bytes;
// anything else is Invalid and stores nothing.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) (written int64, err error) {
	const op = "local.Put"
	if err := checkKey(op, key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, errs.E(op, err)
	}

	// CreateTemp picks a random unused name and creates the file with
	// mode 0600.
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	tmpName := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmpName)
		}
	}()

	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	if size >= 0 {
		// Read one byte beyond the announced size, enough to tell that
		// the reader is too long without storing all of the excess.
		src = io.LimitReader(src, size+1)
	}
	bufp := bufPool.Get().(*[]byte)
	// The wrapper hides (*os.File).ReadFrom, which io.CopyBuffer would
	// otherwise prefer, ignoring our buffer for a fresh 32 KiB one.
	written, err = io.CopyBuffer(writerOnly{f}, src, *bufp)
	bufPool.Put(bufp)
	if err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	if size >= 0 && written != size {
		return 0, errs.E(op, errs.Invalid, errs.Msg("announced %d bytes, reader gave %s", size, countString(written, size)))
	}
	if err = f.Sync(); err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	closed = true
	if err = f.Close(); err != nil {
		return 0, errs.E(op, putKind(err), err)
	}

	dst := b.path(key)
	dir := filepath.Dir(dst)
	// A concurrent Delete may remove the parent directory between our
	// MkdirAll and our rename, when it empties that directory; the rename
	// then fails with ENOENT and we simply create the directory again.
	for attempt := 0; ; attempt++ {
		if err = b.mkdirAll(dir); err != nil {
			return 0, errs.E(op, putKind(err), err)
		}
		err = os.Rename(tmpName, dst)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return 0, errs.E(op, putKind(err), err)
	}
	if err = syncDir(dir); err != nil {
		// The object is in place but may not survive a crash; report
		// failure so the caller does not rely on it.
		return 0, errs.E(op, putKind(err), err)
	}
	return written, nil
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
	return syncDir(parent)
}

// ctxReader stops a copy when its context is cancelled, so that an abandoned
// upload does not keep writing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writerOnly exposes only the Write method of its writer.
type writerOnly struct{ io.Writer }

// countString describes how many bytes a reader gave, given that at most
// size+1 of them were read.
func countString(got, size int64) string {
	if got > size {
		return "more"
	}
	return strconv.FormatInt(got, 10)
}
