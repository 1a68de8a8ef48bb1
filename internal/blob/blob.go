// Package blob defines the small interface every storage backend implements
// (local disk, S3, memory) and the rules they share. A backend stores opaque
// objects under slash-separated keys; it knows nothing of files, sidecars or
// modes. The conformance suite in package blobtest checks every backend
// against the same contract.
package blob

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Backend stores objects. All methods are safe for concurrent use.
//
// Errors carry errs kinds: NotExist for a missing key, Invalid for a bad key
// or range, NoSpace when the medium is full, Unavailable when the backend
// cannot be reached.
type Backend interface {
	// Put stores the bytes of r under key, replacing any object there.
	// It returns only when the object is durable, and the object becomes
	// visible atomically: a reader sees the old object, the whole new one
	// or nothing, never a part. size is the expected length, or -1 when it
	// is unknown; a backend may use it to plan the upload. On error nothing
	// new is visible under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) (written int64, err error)

	// Get returns n bytes of the object starting at off; n < 0 means to the
	// end. A range beyond the object's end is Invalid.
	Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)

	// Stat describes the object under key.
	Stat(ctx context.Context, key string) (Info, error)

	// Delete removes the object under key. Deleting a missing key succeeds.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in no
	// particular order, until fn returns an error, which List returns.
	List(ctx context.Context, prefix string, fn func(Info) error) error

	// Kind names the backend: "local", "s3" or "memory".
	Kind() string

	// Close releases the backend's resources.
	Close() error
}

// PutOptions refine a Put for callers that order several writes.
type PutOptions struct {
	// BeforeVisible, when set, runs once the bytes are written (and, where
	// the backend has such a step, durable in a temporary place) and before
	// they become visible under the key. An error from it aborts the Put
	// and nothing new is visible. It runs at most once; it does not run
	// when the Put fails first.
	BeforeVisible func() error
	// DeferDirSync lets a backend with directories skip making the new
	// directory entry durable: the object is visible on return but may
	// vanish in a crash until a later Put into the same directory without
	// this option returns. The object's bytes are durable either way.
	DeferDirSync bool
}

// OptionsPutter is implemented by backends that support PutOptions beyond
// what PutWithOptions can do for any backend.
type OptionsPutter interface {
	PutWithOptions(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (int64, error)
}

// PutWithOptions is Put with options. For a backend without its own
// support, BeforeVisible runs before the Put starts (which is before the
// object becomes visible, if earlier than needed) and DeferDirSync is
// ignored, which is always safe.
func PutWithOptions(ctx context.Context, b Backend, key string, r io.Reader, size int64, opts PutOptions) (int64, error) {
	if p, ok := b.(OptionsPutter); ok {
		return p.PutWithOptions(ctx, key, r, size, opts)
	}
	if opts.BeforeVisible != nil {
		if err := opts.BeforeVisible(); err != nil {
			return 0, err
		}
	}
	return b.Put(ctx, key, r, size)
}

// CheckKey reports whether key is a valid object key: non-empty, relative,
// slash-separated, without empty, "." or ".." segments, backslashes or
// control characters, and at most 1024 bytes.
func CheckKey(key string) error {
	const op = "blob.CheckKey"
	if key == "" || len(key) > 1024 {
		return errs.E(op, errs.Invalid, errs.Msg("key length %d out of range", len(key)))
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return errs.E(op, errs.Invalid, errs.Msg("key %q has a forbidden character", key))
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errs.E(op, errs.Invalid, errs.Msg("key %q has an invalid segment", key))
		}
	}
	return nil
}

// CheckRange validates a range request against an object of the given size
// and returns the number of bytes to read.
func CheckRange(size, off, n int64) (int64, error) {
	if off < 0 || off > size {
		return 0, errs.E("blob.CheckRange", errs.Invalid, errs.Msg("offset %d outside object of %d bytes", off, size))
	}
	if n < 0 {
		return size - off, nil
	}
	if off+n > size {
		return 0, errs.E("blob.CheckRange", errs.Invalid, errs.Msg("range %d+%d outside object of %d bytes", off, n, size))
	}
	return n, nil
}

// ContextReader returns a reader of r that fails once ctx is done, so that
// a backend stops writing an upload its caller abandoned.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx, r} }

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
