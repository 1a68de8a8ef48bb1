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
// malformed cursor is a 400.
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
	var got, want []string
	for _, f := range whole.Items {
		want = append(want, f.FileID)
	}
	for after := ""; ; {
		l, err := el.List(ctx, artstore.Page{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range l.Items {
			got = append(got, f.FileID)
		}
		if !l.HasMore {
			break
		}
		after = l.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages of 2 give %v, want %v", got, want)
	}
	if _, err := el.List(ctx, artstore.Page{Limit: 2, After: "nonsense"}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("a malformed cursor: %v, want invalid", err)
	}
}
