package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob/local"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/storage"
)

// noCursor is an element whose file list ignores the cursor, as one that
// only pages by offset would: every page is the first.
type noCursor struct{ artstore.Element }

func (e noCursor) List(ctx context.Context, p artstore.Page) (artstore.FileList, error) {
	p.After = ""
	return e.Element.List(ctx, p)
}

// setup returns a real element holding n files and an empty catalog.
func setup(t *testing.T, n int) (artstore.Element, *catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(name string) *sqldb.DB {
		db, err := sqldb.Open(ctx, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	b, err := local.Open(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	el, err := storage.Open(ctx, storage.Config{ID: "rw-01", Mode: artstore.ModeRW}, b, open("index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { el.Close() })
	who := artstore.WithPrincipal(ctx, artstore.Principal{Subject: "sa-app", Name: "app", Role: artstore.RoleUser})
	for i := range n {
		if _, err := el.Upload(who, artstore.NewFile{Filename: fmt.Sprintf("f%d.txt", i), Size: -1}, strings.NewReader("content")); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.Open(ctx, open("catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	return el, cat
}

// TestPagesByCursor checks that reconciliation pages through an element by
// cursor, finding every file, and that an element whose list does not move
// on is an error for that element, not an endless loop, and that none of
// the files the catalog holds is then taken for missing.
func TestPagesByCursor(t *testing.T) {
	defer func(n int) { listPage = n }(listPage)
	listPage = 2
	el, cat := setup(t, 5)
	fl := fleet.New(0)
	fl.Add("rw-01", el)
	rep := New(cat, fl, nil).Run(context.Background())
	if er := rep.Elements[0]; er.ElementFiles != 5 || len(er.Added) != 5 || er.Error != "" {
		t.Fatalf("first run: %+v", er)
	}

	fl = fleet.New(0)
	fl.Add("rw-01", noCursor{el})
	rep = New(cat, fl, nil).Run(context.Background())
	if er := rep.Elements[0]; er.Error == "" || len(er.Removed) != 0 {
		t.Fatalf("an element that ignores the cursor: %+v", er)
	}
}
