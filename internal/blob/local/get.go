package local

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// Get opens the object under key and returns a reader of n bytes from off.
//
// The reader implements io.WriterTo by copying from an *io.LimitedReader
// over the *os.File. When the destination is a net/http ResponseWriter that
// path reaches (*net.TCPConn).ReadFrom, which recognises exactly that shape
// and lets the kernel send the file with sendfile(2), without copying the
// bytes through user space.
func (b *Backend) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	const op = "local.Get"
	if err := checkKey(op, key); err != nil {
		return nil, err
	}
	f, err := os.Open(b.path(key))
	if err != nil {
		return nil, errs.E(op, fsKind(err), err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errs.E(op, fsKind(err), err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, errs.E(op, errs.NotExist, errs.Msg("%s is not an object", key))
	}
	// The size comes from the open file, so the range is checked against
	// the very object we read even if a Put replaces it meanwhile.
	n, err = blob.CheckRange(fi.Size(), off, n)
	if err != nil {
		f.Close()
		return nil, errs.E(op, err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, errs.E(op, fsKind(err), err)
	}
	return &fileReader{f: f, lr: &io.LimitedReader{R: f, N: n}}, nil
}

// fileReader reads a range of an open file.
type fileReader struct {
	f  *os.File
	lr *io.LimitedReader // R is f
}

func (r *fileReader) Read(p []byte) (int, error) { return r.lr.Read(p) }

// WriteTo hands the *io.LimitedReader over the file to io.Copy, so the
// destination's ReadFrom can use sendfile or copy_file_range.
func (r *fileReader) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, r.lr) }

func (r *fileReader) Close() error { return r.f.Close() }

// List walks the part of the tree that can hold keys starting with prefix.
// Files that were removed while the walk ran are skipped, as are names that
// are not valid keys (left there by something other than this backend).
func (b *Backend) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	const op = "local.List"
	// Walk from the deepest directory named in full by the prefix: for
	// "a/b/c" that is a/b, where c may be a file or a directory. If that
	// directory part is not a valid key, no valid key can start with the
	// prefix, and it could otherwise point outside the root.
	start := b.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir := prefix[:i]
		if checkKey(op, dir) != nil {
			return nil
		}
		start = b.path(dir)
	}
	var fnErr error
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A directory that vanished under a concurrent Delete
			// held nothing worth listing.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == b.tmp {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || checkKey(op, key) != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fnErr = fn(blob.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return fnErr
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil:
		// The contract is to return fn's error itself.
		return fnErr
	}
	return errs.E(op, fsKind(err), err)
}
