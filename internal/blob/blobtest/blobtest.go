// Package blobtest is the conformance suite for blob.Backend. Every backend
// runs the same Run from its own tests, so that local disk, S3 and memory
// keep one contract: the one documented on blob.Backend.
package blobtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// Run runs the suite. open must return a new, empty backend for each call;
// Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) blob.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b blob.Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Ranges", testRanges},
		{"Stat", testStat},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"ListStops", testListStops},
		{"InvalidKeys", testInvalidKeys},
		{"WrongSize", testWrongSize},
		{"FailingReader", testFailingReader},
		{"CancelledContext", testCancelledContext},
		{"Concurrent", testConcurrent},
		{"Large", testLarge},
		{"PutOptions", testPutOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, b)
		})
	}
}

// pattern returns n bytes that differ between seeds and positions, so that
// a misplaced or stale range is noticed.
func pattern(seed, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + seed*13 + i>>8)
	}
	return p
}

// put stores data under key and fails the test on error.
func put(t *testing.T, b blob.Backend, key string, data []byte) {
	t.Helper()
	n, err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) wrote %d bytes, want %d", key, n, len(data))
	}
}

// get reads a range and fails the test on error.
func get(t testing.TB, b blob.Backend, key string, off, n int64) []byte {
	t.Helper()
	rc, err := b.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): %v", key, off, n, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): reading: %v", key, off, n, err)
	}
	return data
}

// wantKind fails the test unless err has the given kind.
func wantKind(t testing.TB, what string, err error, kind errs.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v", what, kind)
	} else if got := errs.KindOf(err); got != kind {
		t.Errorf("%s: error %q has kind %v, want %v", what, err, got, kind)
	}
}

func testRoundTrip(t *testing.T, b blob.Backend) {
	if b.Kind() == "" {
		t.Error("Kind is empty")
	}
	for i, size := range []int{0, 1, 4096 + 7, 1<<20 + 3} {
		key := fmt.Sprintf("dir/sub/obj-%d", i)
		data := pattern(i, size)
		put(t, b, key, data)
		if got := get(t, b, key, 0, -1); !bytes.Equal(got, data) {
			t.Errorf("%s: got %d bytes back, want the %d put", key, len(got), len(data))
		}
	}
	// A key at the top level, and the unknown-size path.
	data := pattern(9, 1000)
	n, err := b.Put(context.Background(), "top", bytes.NewReader(data), -1)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put(top, size -1) = %d, %v; want %d, nil", n, err, len(data))
	}
	if got := get(t, b, "top", 0, -1); !bytes.Equal(got, data) {
		t.Errorf("top: wrong content")
	}
}

func testOverwrite(t *testing.T, b blob.Backend) {
	put(t, b, "k/obj", []byte("the first, longer content"))
	put(t, b, "k/obj", []byte("short"))
	if got := get(t, b, "k/obj", 0, -1); string(got) != "short" {
		t.Errorf("after overwrite got %q, want %q", got, "short")
	}
	info, err := b.Stat(context.Background(), "k/obj")
	if err != nil || info.Size != 5 {
		t.Errorf("Stat after overwrite = %+v, %v; want size 5", info, err)
	}
}

func testRanges(t *testing.T, b blob.Backend) {
	data := pattern(3, 1000)
	put(t, b, "r/obj", data)
	cases := []struct {
		name   string
		off, n int64
		bad    bool
	}{
		{"start", 0, 10, false},
		{"middle", 100, 50, false},
		{"suffix", 990, 10, false},
		{"one byte", 0, 1, false},
		{"last byte", 999, 1, false},
		{"whole", 0, 1000, false},
		{"to end", 500, -1, false},
		{"all to end", 0, -1, false},
		{"empty at end", 1000, 0, false},
		{"to end from end", 1000, -1, false},
		{"empty in middle", 10, 0, false},
		{"offset past end", 1001, 0, true},
		{"negative offset", -1, 5, true},
		{"runs past end", 995, 10, true},
		{"one too many", 0, 1001, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.bad {
				rc, err := b.Get(context.Background(), "r/obj", c.off, c.n)
				if err == nil {
					rc.Close()
				}
				wantKind(t, fmt.Sprintf("Get(%d, %d)", c.off, c.n), err, errs.Invalid)
				return
			}
			end := int64(len(data))
			if c.n >= 0 {
				end = c.off + c.n
			}
			if got := get(t, b, "r/obj", c.off, c.n); !bytes.Equal(got, data[c.off:end]) {
				t.Errorf("Get(%d, %d): got %d bytes, not bytes %d..%d", c.off, c.n, len(got), c.off, end)
			}
		})
	}
}

func testStat(t *testing.T, b blob.Backend) {
	put(t, b, "s/obj", pattern(1, 12345))
	info, err := b.Stat(context.Background(), "s/obj")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "s/obj" || info.Size != 12345 || info.ModTime.IsZero() {
		t.Errorf("Stat = %+v, want key s/obj, size 12345 and a modification time", info)
	}
}

func testMissing(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	put(t, b, "m/present", []byte("x"))
	for _, key := range []string{"m/absent", "absent", "no/such/dir/obj", "m/present/below"} {
		_, err := b.Stat(ctx, key)
		wantKind(t, "Stat("+key+")", err, errs.NotExist)
		rc, err := b.Get(ctx, key, 0, -1)
		if err == nil {
			rc.Close()
		}
		wantKind(t, "Get("+key+")", err, errs.NotExist)
		rc, err = b.Get(ctx, key, 5, 10)
		if err == nil {
			rc.Close()
		}
		wantKind(t, "Get("+key+", 5, 10)", err, errs.NotExist)
	}
}

func testInvalidKeys(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	for _, key := range []string{"", "../x", "x/..", "/abs", "trailing/", "a//b", "a/./b", ".", "a\\b", "nul\x00key", "nl\nkey", string(bytes.Repeat([]byte("k"), 1025))} {
		name := fmt.Sprintf("%.40q", key)
		_, err := b.Put(ctx, key, bytes.NewReader([]byte("data")), 4)
		wantKind(t, "Put("+name+")", err, errs.Invalid)
		_, err = b.Stat(ctx, key)
		wantKind(t, "Stat("+name+")", err, errs.Invalid)
		rc, err := b.Get(ctx, key, 0, -1)
		if err == nil {
			rc.Close()
		}
		wantKind(t, "Get("+name+")", err, errs.Invalid)
		wantKind(t, "Delete("+name+")", b.Delete(ctx, key), errs.Invalid)
	}
	if keys := listKeys(t, b, ""); len(keys) != 0 {
		t.Errorf("invalid Puts left %q", keys)
	}
}

func testWrongSize(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	put(t, b, "w/old", []byte("old"))
	cases := []struct {
		name string
		data int
		size int64
	}{
		{"short", 5, 10},
		{"long", 10, 5},
		{"empty announced", 3, 0},
		{"empty given", 0, 3},
	}
	for _, c := range cases {
		for _, key := range []string{"w/new", "w/old"} {
			_, err := b.Put(ctx, key, bytes.NewReader(pattern(1, c.data)), c.size)
			wantKind(t, fmt.Sprintf("%s: Put(%s) of %d bytes as %d", c.name, key, c.data, c.size), err, errs.Invalid)
		}
	}
	_, err := b.Stat(ctx, "w/new")
	wantKind(t, "Stat after failed Puts", err, errs.NotExist)
	if got := get(t, b, "w/old", 0, -1); string(got) != "old" {
		t.Errorf("failed overwrites changed the object to %q", got)
	}
}

// testPutOptions checks that BeforeVisible runs once, before the object is
// visible, and that its error aborts the Put; DeferDirSync still stores.
func testPutOptions(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	data := pattern(5, 10000)
	calls := 0
	n, err := blob.PutWithOptions(ctx, b, "opt/a", bytes.NewReader(data), int64(len(data)), blob.PutOptions{
		BeforeVisible: func() error {
			calls++
			_, err := b.Stat(ctx, "opt/a")
			wantKind(t, "Stat inside BeforeVisible", err, errs.NotExist)
			return nil
		},
		DeferDirSync: true,
	})
	if err != nil || n != int64(len(data)) || calls != 1 {
		t.Fatalf("PutWithOptions: n=%d err=%v calls=%d", n, err, calls)
	}
	if got := get(t, b, "opt/a", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("PutWithOptions stored other bytes")
	}
	refuse := errs.E(errs.Conflict, errs.Msg("not now"))
	_, err = blob.PutWithOptions(ctx, b, "opt/b", bytes.NewReader(data), int64(len(data)), blob.PutOptions{
		BeforeVisible: func() error { return refuse },
	})
	wantKind(t, "PutWithOptions refused by BeforeVisible", err, errs.Conflict)
	_, err = b.Stat(ctx, "opt/b")
	wantKind(t, "Stat after a refused Put", err, errs.NotExist)
}
