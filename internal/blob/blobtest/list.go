package blobtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

func testDelete(t *testing.T, b blob.Backend) {
	ctx := context.Background()
	put(t, b, "d/x/one", []byte("1"))
	put(t, b, "d/x/two", []byte("2"))
	for i := 0; i < 2; i++ {
		if err := b.Delete(ctx, "d/x/one"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if err := b.Delete(ctx, "never/was"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	_, err := b.Stat(ctx, "d/x/one")
	wantKind(t, "Stat after Delete", err, errs.NotExist)
	if got := get(t, b, "d/x/two", 0, -1); string(got) != "2" {
		t.Errorf("sibling of deleted object reads %q", got)
	}
	if err := b.Delete(ctx, "d/x/two"); err != nil {
		t.Fatal(err)
	}
	// Nothing may linger, such as directory markers.
	if keys := listKeys(t, b, ""); len(keys) != 0 {
		t.Errorf("after deleting everything List gives %q", keys)
	}
	// The emptied prefix must still accept new objects.
	put(t, b, "d/x/three", []byte("3"))
}

// listKeys returns the sorted keys List reports for prefix.
func listKeys(t *testing.T, b blob.Backend, prefix string) []string {
	t.Helper()
	var keys []string
	err := b.List(context.Background(), prefix, func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(keys)
	return keys
}

func testList(t *testing.T, b blob.Backend) {
	objs := map[string]int{"a/1": 1, "a/2": 22, "a/b/3": 333, "a/b/c/4": 4, "ab/5": 5, "b/6": 6, "top": 7}
	for k, size := range objs {
		put(t, b, k, pattern(size, size))
	}
	sizes := map[string]int64{}
	err := b.List(context.Background(), "", func(info blob.Info) error {
		if _, dup := sizes[info.Key]; dup {
			t.Errorf("List reported %q twice", info.Key)
		}
		sizes[info.Key] = info.Size
		if info.ModTime.IsZero() {
			t.Errorf("List: %q has no modification time", info.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, size := range objs {
		if sizes[k] != int64(size) {
			t.Errorf("List: %q has size %d, want %d", k, sizes[k], size)
		}
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/1", "a/2", "a/b/3", "a/b/c/4", "ab/5", "b/6", "top"}},
		{"a/", []string{"a/1", "a/2", "a/b/3", "a/b/c/4"}},
		{"a", []string{"a/1", "a/2", "a/b/3", "a/b/c/4", "ab/5"}},
		{"a/b", []string{"a/b/3", "a/b/c/4"}},
		{"a/b/", []string{"a/b/3", "a/b/c/4"}},
		{"a/b/c/4", []string{"a/b/c/4"}},
		{"ab", []string{"ab/5"}},
		{"t", []string{"top"}},
		{"top", []string{"top"}},
		{"top/", nil},
		{"nothing/", nil},
		{"zzz", nil},
		{"a//", nil},
		{"../", nil},
	}
	for _, c := range cases {
		if got := listKeys(t, b, c.prefix); !slices.Equal(got, c.want) {
			t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func testListStops(t *testing.T, b blob.Backend) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("stop/%d", i), []byte("x"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := b.List(context.Background(), "stop/", func(blob.Info) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing fn: %d calls, error %v; want 1 call and fn's error", calls, err)
	}
}
