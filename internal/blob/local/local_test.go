package local_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/blobtest"
	"github.com/artstore/artstore/internal/blob/local"
	"github.com/artstore/artstore/internal/errs"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Backend { return open(t, t.TempDir()) })
}

func open(t *testing.T, root string) *local.Backend {
	t.Helper()
	b, err := local.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenSweepsTmp checks that Open discards partial uploads a crash left
// behind, while the objects stay.
func TestOpenSweepsTmp(t *testing.T) {
	root := t.TempDir()
	b := open(t, root)
	if _, err := b.Put(context.Background(), "keep/me", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(root, local.TmpDir, "put-12345")
	if err := os.WriteFile(stray, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(root, local.TmpDir, "dir", "deeper")
	if err := os.MkdirAll(nested, 0o700); err != nil {
		t.Fatal(err)
	}

	b = open(t, root)
	entries, err := os.ReadDir(filepath.Join(root, local.TmpDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("after Open the temporary directory holds %d entries", len(entries))
	}
	if _, err := b.Stat(context.Background(), "keep/me"); err != nil {
		t.Errorf("object lost on reopen: %v", err)
	}
	if b.Root() != root {
		t.Errorf("Root() = %q, want %q", b.Root(), root)
	}
}

// TestPutLeavesNoTemporaries checks that neither a good nor a failed Put
// leaves files in the temporary directory.
func TestPutLeavesNoTemporaries(t *testing.T) {
	root := t.TempDir()
	b := open(t, root)
	ctx := context.Background()
	if _, err := b.Put(ctx, "a", bytes.NewReader([]byte("abc")), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "b", bytes.NewReader([]byte("abc")), 4); err == nil {
		t.Fatal("Put of 3 bytes announced as 4 succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(root, local.TmpDir))
	if len(entries) != 0 {
		t.Errorf("temporary directory holds %d entries", len(entries))
	}
}

func TestReservedKeys(t *testing.T) {
	b := open(t, t.TempDir())
	ctx := context.Background()
	for _, key := range []string{local.TmpDir, local.TmpDir + "/x", local.TmpDir + "/a/b"} {
		_, err := b.Put(ctx, key, bytes.NewReader(nil), 0)
		if !errs.Is(errs.Invalid, err) {
			t.Errorf("Put(%q): %v, want Invalid", key, err)
		}
		_, err = b.Stat(ctx, key)
		if !errs.Is(errs.Invalid, err) {
			t.Errorf("Stat(%q): %v, want Invalid", key, err)
		}
	}
	// A key merely starting with the same letters is fine.
	if _, err := b.Put(ctx, local.TmpDir+"-not", bytes.NewReader(nil), 0); err != nil {
		t.Errorf("Put(%q): %v", local.TmpDir+"-not", err)
	}
}

// TestDeletePrunesDirectories checks that Delete removes the directories it
// empties, but not the root.
func TestDeletePrunesDirectories(t *testing.T) {
	root := t.TempDir()
	b := open(t, root)
	ctx := context.Background()
	for _, k := range []string{"x/y/z/obj", "x/other"} {
		if _, err := b.Put(ctx, k, bytes.NewReader([]byte("1")), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Delete(ctx, "x/y/z/obj"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "x", "y")); !os.IsNotExist(err) {
		t.Errorf("x/y still exists: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "x", "other")); err != nil {
		t.Errorf("sibling lost: %v", err)
	}
	if err := b.Delete(ctx, "x/other"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("root removed: %v", err)
	}
}

// TestKeyClash checks that a key cannot be stored where another key's
// directory is, and that the clash is a Conflict, not a crash or NotExist.
func TestKeyClash(t *testing.T) {
	b := open(t, t.TempDir())
	ctx := context.Background()
	if _, err := b.Put(ctx, "f", bytes.NewReader([]byte("1")), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "f/g", bytes.NewReader([]byte("2")), 1); !errs.Is(errs.Conflict, err) {
		t.Errorf("Put under a file: %v, want Conflict", err)
	}
	if _, err := b.Put(ctx, "d/e", bytes.NewReader([]byte("3")), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "d", bytes.NewReader([]byte("4")), 1); !errs.Is(errs.Conflict, err) {
		t.Errorf("Put over a directory: %v, want Conflict", err)
	}
	if _, err := b.Stat(ctx, "d"); !errs.Is(errs.NotExist, err) {
		t.Errorf("Stat of a directory: %v, want NotExist", err)
	}
	if err := b.Delete(ctx, "d"); err != nil {
		t.Errorf("Delete of a directory: %v, want success (no such object)", err)
	}
	if _, err := b.Stat(ctx, "d/e"); err != nil {
		t.Errorf("Delete of directory d removed d/e: %v", err)
	}
}

// TestGetWriterTo checks that Get's reader offers io.WriterTo, which keeps
// sendfile possible for HTTP responses, and that WriteTo copies exactly the
// range, both into a file and through a real HTTP connection.
func TestGetWriterTo(t *testing.T) {
	b := open(t, t.TempDir())
	ctx := context.Background()
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if _, err := b.Put(ctx, "obj", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	const off, n = 12345, 2 << 20

	rc, err := b.Get(ctx, "obj", off, n)
	if err != nil {
		t.Fatal(err)
	}
	wt, ok := rc.(io.WriterTo)
	if !ok {
		t.Fatalf("Get returned %T, which does not implement io.WriterTo", rc)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, err := wt.WriteTo(f); err != nil || m != n {
		t.Fatalf("WriteTo(file) = %d, %v; want %d", m, err, n)
	}
	rc.Close()
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[off:off+n]) {
		t.Error("WriteTo(file) wrote the wrong bytes")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := b.Get(r.Context(), "obj", off, n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rc.Close()
		// With a known length the response is not chunked, which is
		// what lets net/http hand the file to sendfile.
		w.Header().Set("Content-Length", strconv.Itoa(n))
		io.Copy(w, rc)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[off:off+n]) {
		t.Errorf("HTTP response carried %d bytes, not the range", len(got))
	}
}
