package catalog_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

func TestFiles(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		// More files than Files reads at a time, so that it pages.
		var items []artstore.Change
		var want []string
		for i := range 2345 {
			id := fmt.Sprintf("f%05d", 2345-i) // arrive out of id order
			items = append(items, created(int64(i+1), file(id, "rw-1", int64(1+i%3))))
		}
		for i := 1; i <= 2345; i++ {
			if i != 7 {
				want = append(want, fmt.Sprintf("f%05d@%d", i, 1+(2345-i)%3))
			}
		}
		items = append(items, deleted(2346, "f00007", 9))
		mustApply(t, c, "rw-1", page("j", items...))
		mustApply(t, c, "rw-2", page("j", created(1, file("g", "rw-2", 1))))
		// A file that moved away is listed only where it went.
		mustApply(t, c, "rw-2", page("j", created(2, file("f00001", "rw-2", 7))))
		want = want[1:]

		if got := filesOn(t, c, "rw-1"); !slices.Equal(got, want) {
			t.Errorf("Files(rw-1) has %d files, want %d; first %v", len(got), len(want), got[:min(3, len(got))])
		}
		if got := filesOn(t, c, "rw-2"); !slices.Equal(got, []string{"f00001@7", "g@1"}) {
			t.Errorf("Files(rw-2) = %v", got)
		}
		if got := filesOn(t, c, "nowhere"); len(got) != 0 {
			t.Errorf("Files(nowhere) = %v", got)
		}

		stop := errors.New("stop")
		n := 0
		err := c.Files(ctx, "rw-1", func(string, int64) error {
			if n++; n == 1500 {
				return stop
			}
			return nil
		})
		if err != stop || n != 1500 {
			t.Errorf("Files stopped after %d calls with %v, want 1500 and the callback's error", n, err)
		}
	})
}

func TestExpired(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		temp := func(id string, h int) *artstore.File {
			f := file(id, "edit-1", 1)
			f.RetentionPolicy = artstore.Temporary
			if h != 0 {
				e := t0.Add(time.Duration(h) * time.Hour)
				f.ExpiresAt = &e
			}
			return f
		}
		perm := temp("perm", 1)
		perm.RetentionPolicy = artstore.Permanent
		mustApply(t, c, "edit-1", page("j",
			created(1, temp("late", 3)),
			created(2, temp("early", 1)),
			created(3, temp("mid", 2)),
			created(4, temp("never", 0)),
			created(5, perm),
			created(6, temp("gone", 1)),
			deleted(7, "gone", 1),
			created(8, temp("tie-b", 2)),
			created(9, temp("tie-a", 2)),
		))
		expired := func(before time.Time, limit int) []string {
			t.Helper()
			fs, err := c.Expired(ctx, before, nil, limit)
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, f := range fs {
				out = append(out, f.FileID)
				if f.ExpiresAt == nil || f.RetentionPolicy != artstore.Temporary {
					t.Errorf("Expired returned %+v", f)
				}
			}
			return out
		}
		for _, tc := range []struct {
			before time.Duration
			limit  int
			want   []string
		}{
			{0, 10, []string{}},
			{time.Hour, 10, []string{}}, // strictly before
			{time.Hour + 1, 10, []string{"early"}},
			{2*time.Hour + 1, 10, []string{"early", "mid", "tie-a", "tie-b"}},
			{24 * time.Hour, 10, []string{"early", "mid", "tie-a", "tie-b", "late"}},
			{24 * time.Hour, 2, []string{"early", "mid"}},
		} {
			if got := expired(t0.Add(tc.before), tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("Expired(t0+%v, %d) = %v, want %v", tc.before, tc.limit, got, tc.want)
			}
		}
		// Walking on from a file skips it and the ones before it, ties
		// broken by file id.
		walk := func(after *artstore.File) []artstore.File {
			t.Helper()
			fs, err := c.Expired(ctx, t0.Add(24*time.Hour), after, 2)
			if err != nil {
				t.Fatal(err)
			}
			return fs
		}
		var got []string
		for fs, after := walk(nil), (*artstore.File)(nil); len(fs) > 0; fs = walk(after) {
			for i := range fs {
				got = append(got, fs[i].FileID)
			}
			after = &fs[len(fs)-1]
		}
		if want := []string{"early", "mid", "tie-a", "tie-b", "late"}; !slices.Equal(got, want) {
			t.Errorf("walking Expired in pages of 2: %v, want %v", got, want)
		}
		if _, err := c.Expired(ctx, t0, nil, 0); !errs.Is(errs.Invalid, err) {
			t.Errorf("Expired with limit 0: %v, want an invalid error", err)
		}
	})
}

// TestConcurrentWriters applies the journals of several elements at once,
// moving files between them, while others search: every write must land
// and the version rules must hold however the transactions interleave.
func TestConcurrentWriters(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		const files, rounds = 40, 5
		elements := []string{"e1", "e2", "e3", "e4"}
		done := make(chan error, len(elements)+1)
		stop := make(chan struct{})
		for w, el := range elements {
			go func() {
				seq := int64(0)
				for r := range rounds {
					var items []artstore.Change
					for i := range files {
						// Every element writes every file; the highest
						// version, element e4's last round, must win.
						seq++
						items = append(items, created(seq, file(fmt.Sprintf("f%02d", i), el, int64(r*len(elements)+w+1))))
					}
					if err := c.Apply(ctx, el, page("j", items...)); err != nil {
						done <- fmt.Errorf("%s: %w", el, err)
						return
					}
				}
				done <- nil
			}()
		}
		go func() {
			for {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if _, err := c.Search(ctx, catalog.Query{Query: "txt", Limit: 10}); err != nil {
					done <- err
					return
				}
			}
		}()
		for range elements {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		top := fmt.Sprintf("e4@%d", rounds*len(elements))
		for i := range files {
			if got := where(t, c, fmt.Sprintf("f%02d", i)); got != top {
				t.Errorf("f%02d is %s, want %s", i, got, top)
			}
		}
		if got := search(t, c, catalog.Query{}).Total; got != files {
			t.Errorf("search counts %d files, want %d", got, files)
		}
		for _, el := range elements {
			if j, seq, _ := c.Cursor(ctx, el); j != "j" || seq != files*rounds {
				t.Errorf("cursor of %s = %s:%d", el, j, seq)
			}
		}
	})
}
