// Package mem implements blob.Backend in memory. It owns nothing durable: it
// exists for tests and for throwaway development stores, and it is the only
// backend allowed to buffer whole objects.
package mem

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// Backend keeps objects in a map.
type Backend struct {
	mu   sync.RWMutex
	objs map[string]object
}

// object is one stored object. Its data is never modified after Put stores
// it; Get copies it all the same, so callers cannot reach the store's
// memory through a reader.
type object struct {
	data    []byte
	modTime time.Time
}

var _ blob.Backend = (*Backend)(nil)

// New returns an empty store.
func New() *Backend {
	return &Backend{objs: make(map[string]object)}
}

// Kind returns "memory".
func (b *Backend) Kind() string { return "memory" }

// Close does nothing; the objects stay readable.
func (b *Backend) Close() error { return nil }

// Put reads all of r and then stores it under key in one step, so a failed
// read leaves the previous object in place. When size is not negative the
// reader must yield exactly size bytes.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	const op = "mem.Put"
	if err := blob.CheckKey(key); err != nil {
		return 0, errs.E(op, err)
	}
	src := blob.ContextReader(ctx, r)
	if size >= 0 {
		// One byte beyond the announced size shows the reader is too
		// long without buffering all of it.
		src = io.LimitReader(src, size+1)
	}
	data, err := io.ReadAll(src)
	if err != nil {
		return 0, errs.E(op, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return 0, errs.E(op, errs.Invalid, errs.Msg("announced %d bytes, reader gave a different number", size))
	}
	b.mu.Lock()
	b.objs[key] = object{data: data, modTime: time.Now()}
	b.mu.Unlock()
	return int64(len(data)), nil
}

// Get returns a copy of the requested range.
func (b *Backend) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	const op = "mem.Get"
	if err := blob.CheckKey(key); err != nil {
		return nil, errs.E(op, err)
	}
	b.mu.RLock()
	o, ok := b.objs[key]
	b.mu.RUnlock()
	if !ok {
		return nil, errs.E(op, errs.NotExist, errs.Msg("no object %q", key))
	}
	n, err := blob.CheckRange(int64(len(o.data)), off, n)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(o.data[off : off+n]))), nil
}

// Stat describes the object under key.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Info, error) {
	const op = "mem.Stat"
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, errs.E(op, err)
	}
	b.mu.RLock()
	o, ok := b.objs[key]
	b.mu.RUnlock()
	if !ok {
		return blob.Info{}, errs.E(op, errs.NotExist, errs.Msg("no object %q", key))
	}
	return blob.Info{Key: key, Size: int64(len(o.data)), ModTime: o.modTime}, nil
}

// Delete removes the object under key, if any.
func (b *Backend) Delete(ctx context.Context, key string) error {
	const op = "mem.Delete"
	if err := blob.CheckKey(key); err != nil {
		return errs.E(op, err)
	}
	b.mu.Lock()
	delete(b.objs, key)
	b.mu.Unlock()
	return nil
}

// List calls fn for a snapshot of the matching objects, taken before the
// first call, so fn may itself use the store without deadlocking.
func (b *Backend) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	b.mu.RLock()
	var infos []blob.Info
	for k, o := range b.objs {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, blob.Info{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
		}
	}
	b.mu.RUnlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return errs.E("mem.List", err)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}
