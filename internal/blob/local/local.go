// Package local implements blob.Backend on a local file system. It owns the
// directory tree under its root: every object is a regular file whose path
// below the root is the object's key, and the reserved directory
// .artstore-tmp holds uploads in progress, so that a Put becomes visible only
// through an atomic rename on the same file system.
//
// Files are created with mode 0600 and directories with 0700: the tree is
// private to the ArtStore process, and other programs, backups included,
// must run as the same user.
package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// TmpDir is the name of the directory, directly under the root, that holds
// partial uploads. Keys may not start with it.
const TmpDir = ".artstore-tmp"

// copyBufferSize is the size of the buffer Put streams through. It is large
// enough to keep the number of write system calls low and small enough that
// many concurrent uploads stay cheap.
const copyBufferSize = 1 << 20

// bufPool recycles copy buffers between Puts, so a busy store does not
// allocate a megabyte for every upload.
var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// Backend stores objects as files under a root directory.
type Backend struct {
	root string // absolute, cleaned
	tmp  string // root/TmpDir
	dirs *dirSyncer
	// noUnnamed is set once the file system refused an unnamed file, so
	// that Put stops trying.
	noUnnamed atomic.Bool
}

var _ blob.Backend = (*Backend)(nil)

// Open opens the store rooted at root, creating the directory if needed. It
// removes whatever a crashed process left in the temporary directory: those
// files were never renamed into place, so no object refers to them.
func Open(root string) (*Backend, error) {
	const op = "local.Open"
	if root == "" {
		return nil, errs.E(op, errs.Invalid, errs.Msg("empty root directory"))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	b := &Backend{root: abs, tmp: filepath.Join(abs, TmpDir), dirs: newDirSyncer(syncDir)}
	if err := os.MkdirAll(b.root, 0o700); err != nil {
		return nil, errs.E(op, fsKind(err), err)
	}
	if err := os.RemoveAll(b.tmp); err != nil {
		return nil, errs.E(op, fsKind(err), err)
	}
	if err := os.Mkdir(b.tmp, 0o700); err != nil {
		return nil, errs.E(op, fsKind(err), err)
	}
	return b, nil
}

// Root returns the absolute path of the store's root directory.
func (b *Backend) Root() string { return b.root }

// Kind returns "local".
func (b *Backend) Kind() string { return "local" }

// Close does nothing: the backend holds no open files between calls.
func (b *Backend) Close() error { return nil }

// checkKey applies blob.CheckKey and also rejects keys inside the reserved
// temporary directory, which would otherwise let a client read or clobber
// uploads in progress.
func checkKey(op, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return errs.E(op, err)
	}
	if key == TmpDir || strings.HasPrefix(key, TmpDir+"/") {
		return errs.E(op, errs.Invalid, errs.Msg("key %q is inside the reserved directory %s", key, TmpDir))
	}
	return nil
}

// path maps a valid key to its file.
func (b *Backend) path(key string) string {
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// Stat describes the object under key. A directory is not an object, so
// asking for one gives NotExist.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Info, error) {
	const op = "local.Stat"
	if err := checkKey(op, key); err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(b.path(key))
	if err != nil {
		return blob.Info{}, errs.E(op, fsKind(err), err)
	}
	if !fi.Mode().IsRegular() {
		return blob.Info{}, errs.E(op, errs.NotExist, errs.Msg("%s is not an object", key))
	}
	return blob.Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the object under key and then, best effort, the parent
// directories it leaves empty, so deleted prefixes do not accumulate as
// empty directories.
func (b *Backend) Delete(ctx context.Context, key string) error {
	const op = "local.Delete"
	if err := checkKey(op, key); err != nil {
		return err
	}
	p := b.path(key)
	// os.Remove would also remove an empty directory, which is not an
	// object; look first.
	fi, err := os.Lstat(p)
	if err != nil && fsKind(err) == errs.NotExist {
		return nil
	}
	if err != nil {
		return errs.E(op, fsKind(err), err)
	}
	if fi.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(op, fsKind(err), err)
	}
	dir := filepath.Dir(p)
	if err := b.dirs.Sync(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errs.E(op, fsKind(err), err)
	}
	for dir != b.root && strings.HasPrefix(dir, b.root+string(filepath.Separator)) {
		// Remove fails on a directory that is not empty, which ends the
		// climb; a concurrent Put that loses its directory this way
		// recreates it (see Put).
		if os.Remove(dir) != nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

// fsKind classifies a file system error.
func fsKind(err error) errs.Kind {
	switch {
	case err == nil:
		return errs.Other
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return errs.NoSpace
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR means a parent of the path is a file, so the object
		// cannot exist either.
		return errs.NotExist
	case errors.Is(err, syscall.ENAMETOOLONG):
		return errs.Invalid
	case errors.Is(err, syscall.EROFS):
		// Typically a file system remounted read-only after an error,
		// which an operator has to repair.
		return errs.Unavailable
	}
	return errs.Other
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
