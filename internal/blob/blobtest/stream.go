package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// errBoom is what failingReader fails with.
var errBoom = errors.New("blobtest: reader failed on purpose")

// failingReader yields good bytes and then fails, as a client connection
// that drops half-way through an upload does.
type failingReader struct {
	r    io.Reader
	left int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errBoom
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= int64(n)
	return n, err
}

// generator returns a deterministic stream of size pseudo-random bytes, so
// large objects can be checked by hash without holding them in memory.
func generator(seed uint64, size int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

func testFailingReader(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	old := []byte("previous content")
	cases := []struct {
		after, size int64
	}{
		{100 << 10, 200 << 10},
		{100 << 10, -1},
		{0, -1},
		// Past the first part of a multipart upload when the backend
		// uses parts of 5 MiB, as the S3 test does.
		{6 << 20, 12 << 20},
		{6 << 20, -1},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("fail at %d of %d", c.after, c.size), func(t *testing.T) {
			fresh := fmt.Sprintf("f/new-%d", i)
			_, err := b.Put(ctx, fresh, &failingReader{r: generator(1, 1<<30), left: c.after}, c.size)
			if !errors.Is(err, errBoom) {
				t.Errorf("Put with a failing reader: error %v, want one wrapping the reader's", err)
			}
			_, err = b.Stat(ctx, fresh)
			wantKind(t, "Stat after failed Put", err, errs.NotExist)

			kept := fmt.Sprintf("f/old-%d", i)
			put(t, b, kept, old)
			_, err = b.Put(ctx, kept, &failingReader{r: generator(2, 1<<30), left: c.after}, c.size)
			if !errors.Is(err, errBoom) {
				t.Errorf("overwriting Put with a failing reader: error %v, want one wrapping the reader's", err)
			}
			if got := get(t, b, kept, 0, -1); !bytes.Equal(got, old) {
				t.Errorf("failed overwrite left %d bytes, want the previous %q", len(got), old)
			}
		})
	}
}

// cancellingReader cancels its context after some bytes and goes on
// yielding data, so only the backend's attention to the context stops the
// upload.
type cancellingReader struct {
	r      io.Reader
	after  int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.after -= int64(n); c.after <= 0 {
		c.cancel()
	}
	return n, err
}

func testCancelledContext(t *testing.T, b blob.Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Put(ctx, "cc/before", bytes.NewReader([]byte("data")), 4); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
	_, err := b.Stat(context.Background(), "cc/before")
	wantKind(t, "Stat after cancelled Put", err, errs.NotExist)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r := &cancellingReader{r: generator(3, 8<<20), after: 1 << 20, cancel: cancel}
	if _, err := b.Put(ctx, "cc/during", r, -1); err == nil {
		t.Error("Put whose context was cancelled during the upload succeeded")
	}
	_, err = b.Stat(context.Background(), "cc/during")
	wantKind(t, "Stat after Put cancelled midway", err, errs.NotExist)
}

func testConcurrent(t *testing.T, b blob.Backend) {
	const workers, rounds = 32, 3
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			key := fmt.Sprintf("c/%02d/obj", w)
			for r := range rounds {
				data := pattern(w*rounds+r, 64<<10+w*1000+r)
				if _, err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
					t.Errorf("Put(%s) round %d: %v", key, r, err)
					return
				}
				rc, err := b.Get(ctx, key, 0, -1)
				if err != nil {
					t.Errorf("Get(%s) round %d: %v", key, r, err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("Get(%s) round %d: %d bytes, %v; want the %d put", key, r, len(got), err, len(data))
					return
				}
				info, err := b.Stat(ctx, key)
				if err != nil || info.Size != int64(len(data)) {
					t.Errorf("Stat(%s) round %d = %+v, %v", key, r, info, err)
				}
			}
		})
	}
	wg.Wait()
	if keys := listKeys(t, b, "c/"); len(keys) != workers {
		t.Errorf("List after concurrent Puts gives %d keys, want %d", len(keys), workers)
	}
}

func testLarge(t *testing.T, b blob.Backend) {
	if testing.Short() {
		t.Skip("skipping 64 MiB objects in short mode")
	}
	const size = 64 << 20
	for _, c := range []struct {
		name string
		size int64
	}{{"known size", size}, {"unknown size", -1}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			key := "large/" + c.name
			h := sha256.New()
			n, err := b.Put(ctx, key, io.TeeReader(generator(4, size), h), c.size)
			if err != nil || n != size {
				t.Fatalf("Put = %d, %v; want %d, nil", n, err, size)
			}
			want := h.Sum(nil)

			info, err := b.Stat(ctx, key)
			if err != nil || info.Size != size {
				t.Fatalf("Stat = %+v, %v; want size %d", info, err, size)
			}
			rc, err := b.Get(ctx, key, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			h.Reset()
			if n, err := io.Copy(h, rc); err != nil || n != size {
				t.Fatalf("reading back: %d bytes, %v", n, err)
			}
			if got := h.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("SHA-256 read back %x, put %x", got, want)
			}
		})
	}
}
