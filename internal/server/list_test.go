package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sehttp"
	"github.com/artstore/artstore/internal/testcluster"
)

// TestElementListPages pages through an element over HTTP with the client
// that catalogs and reconciliation use: the cursor reaches the element and
// comes back, every file once, in the order of one long page, and a
// malformed cursor is a 400; the same holds in file id order, where the
// cursor is a file id.
func TestElementListPages(t *testing.T) {
	c := testcluster.Start(t)
	admin := c.AdminToken()
	for i := range 5 {
		mustFile(t, upload(t, c, "rw-01", admin, fmt.Sprintf("f%d.txt", i), "content"), 201)
	}
	el := sehttp.NewClient(c.URL+"/elements/rw-01", api.StaticToken(admin), nil)
	ctx := context.Background()
	whole, err := el.List(ctx, artstore.Page{Limit: 100})
	if err != nil || len(whole.Items) != 5 {
		t.Fatalf("one page: %+v %v", whole, err)
	}
	var want []string
	for _, f := range whole.Items {
		want = append(want, f.FileID)
	}
	// pages returns the ids of every page of 2 in one order.
	pages := func(byID bool) []string {
		var got []string
		for after := ""; ; {
			l, err := el.List(ctx, artstore.Page{Limit: 2, After: after, ByID: byID})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range l.Items {
				got = append(got, f.FileID)
			}
			if !l.HasMore {
				return got
			}
			after = l.Next
		}
	}
	if got := pages(false); !slices.Equal(got, want) {
		t.Fatalf("pages of 2 give %v, want %v", got, want)
	}
	slices.Sort(want)
	if got := pages(true); !slices.Equal(got, want) {
		t.Fatalf("pages of 2 in file id order give %v, want %v", got, want)
	}
	// A cursor of one order is not one of the other.
	first, err := el.List(ctx, artstore.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := el.List(ctx, artstore.Page{Limit: 2, After: first.Next, ByID: true}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("a cursor newest first, in file id order: %v, want invalid", err)
	}
	for _, q := range []string{"order=size", "zzz=1", "limit=1&limit=2", "after=%zz"} {
		if r := c.Do("GET", "/elements/rw-01/api/v1/files?"+q, admin, "", nil, nil); r.StatusCode != 400 {
			t.Fatalf("%s: %d, want 400", q, r.StatusCode)
		}
	}
	if _, err := el.List(ctx, artstore.Page{Limit: 2, After: "nonsense"}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("a malformed cursor: %v, want invalid", err)
	}
}
