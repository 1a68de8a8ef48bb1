package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob/local"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/follow"
	"github.com/artstore/artstore/internal/storage"
	"github.com/artstore/artstore/internal/testenv"
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
	b, err := local.Open(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	el, err := storage.Open(ctx, storage.Config{ID: "rw-01", Mode: artstore.ModeRW}, b, testenv.SQLite(t, "index.db"))
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
	cat, err := catalog.Open(ctx, testenv.SQLite(t, "catalog.db"))
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

// TestDrift checks that walking the catalog and the element side by side,
// a page at a time, finds every kind of drift wherever it falls in file id
// order, and that a second run then finds nothing.
func TestDrift(t *testing.T) {
	defer func(n int) { listPage = n }(listPage)
	listPage = 2
	ctx := context.Background()
	el, cat := setup(t, 7)
	l, err := el.List(ctx, artstore.Page{Limit: 10, ByID: true})
	if err != nil || len(l.Items) != 7 {
		t.Fatalf("List: %d files, %v", len(l.Items), err)
	}
	files := l.Items
	// The catalog lacks the first and fifth files, holds the third in its
	// version before an update, and places on the element two files it
	// does not hold, one before every file id and one after.
	var want ElementReport
	for i := range files {
		f := files[i]
		switch i {
		case 0, 4:
			want.Added = append(want.Added, f.FileID)
			continue
		case 2:
			want.Updated = append(want.Updated, f.FileID)
		}
		if _, err := cat.PutChanged(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := el.Update(ctx, files[2].FileID, artstore.FilePatch{Description: new("changed")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff"} {
		f := files[1]
		f.FileID = id
		if _, err := cat.PutChanged(ctx, &f); err != nil {
			t.Fatal(err)
		}
		want.Removed = append(want.Removed, id)
	}

	fl := fleet.New(0)
	fl.Add("rw-01", el)
	rec := New(cat, fl, nil)
	rep := rec.Run(ctx)
	er := rep.Elements[0]
	if er.Error != "" || er.ElementFiles != 7 || er.CatalogFiles != 7 || rep.Repaired != 5 ||
		!slices.Equal(er.Added, want.Added) || !slices.Equal(er.Updated, want.Updated) || !slices.Equal(er.Removed, want.Removed) ||
		er.AddedCount != 2 || er.UpdatedCount != 1 || er.RemovedCount != 2 {
		t.Fatalf("report %+v, want added %v, updated %v, removed %v", er, want.Added, want.Updated, want.Removed)
	}
	if f, err := cat.Get(ctx, files[2].FileID); err != nil || f.Description != "changed" {
		t.Fatalf("the updated file: %+v, %v", f, err)
	}
	if rep := rec.Run(ctx); rep.Repaired != 0 || rep.Elements[0].CatalogFiles != 7 || rep.Elements[0].Error != "" {
		t.Fatalf("second run: %+v", rep)
	}
}

// TestReportNamesFirst checks that a report names at most artstore.MaxListed files
// of a kind and counts them all.
func TestReportNamesFirst(t *testing.T) {
	el, cat := setup(t, artstore.MaxListed+3)
	fl := fleet.New(0)
	fl.Add("rw-01", el)
	er := New(cat, fl, nil).Run(context.Background()).Elements[0]
	if er.AddedCount != artstore.MaxListed+3 || len(er.Added) != artstore.MaxListed || er.ElementFiles != artstore.MaxListed+3 || er.Error != "" {
		t.Fatalf("report: %d added, %d named, %d listed, error %q", er.AddedCount, len(er.Added), er.ElementFiles, er.Error)
	}
}

// hiding is an element that neither lists nor finds one of its files, as
// an element does for a while when it rebuilds its index.
type hiding struct {
	artstore.Element
	fileID string
}

func (e hiding) List(ctx context.Context, p artstore.Page) (artstore.FileList, error) {
	l, err := e.Element.List(ctx, p)
	l.Items = slices.DeleteFunc(l.Items, func(f artstore.File) bool { return f.FileID == e.fileID })
	return l, err
}

func (e hiding) Stat(ctx context.Context, fileID string) (*artstore.File, error) {
	if fileID == e.fileID {
		return nil, errs.E(errs.NotExist, errs.Msg("not found"))
	}
	return e.Element.Stat(ctx, fileID)
}

// TestTransientAbsence checks that a file an element failed to find for a
// while, and which reconciliation therefore removed, comes back once the
// element finds it again at the same version, through reconciliation or
// through the element's journal.
func TestTransientAbsence(t *testing.T) {
	ctx := context.Background()
	el, cat := setup(t, 2)
	l, err := el.List(ctx, artstore.Page{Limit: 10, ByID: true})
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Items[0]
	for _, f := range l.Items {
		if _, err := cat.PutChanged(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	for _, back := range []string{"reconciliation", "journal"} {
		fl := fleet.New(0)
		fl.Add("rw-01", hiding{el, gone.FileID})
		if rep := New(cat, fl, nil).Run(ctx); rep.Elements[0].RemovedCount != 1 {
			t.Fatalf("%s: run with the file hidden: %+v", back, rep.Elements[0])
		}
		if _, err := cat.Get(ctx, gone.FileID); !errs.Is(errs.NotExist, err) {
			t.Fatalf("%s: the hidden file is still in the catalog: %v", back, err)
		}
		if back == "reconciliation" {
			fl = fleet.New(0)
			fl.Add("rw-01", el)
			if rep := New(cat, fl, nil).Run(ctx); rep.Elements[0].AddedCount != 1 {
				t.Fatalf("run with the file found again: %+v", rep.Elements[0])
			}
		} else {
			// A rebuilt journal lists the file as created at its version.
			err := cat.Apply(ctx, "rw-01", artstore.Changes{JournalID: "rebuilt", LastSeq: 1, Items: []artstore.Change{
				{Seq: 1, Type: artstore.FileCreated, FileID: gone.FileID, Version: gone.Version, File: &gone}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		if f, err := cat.Get(ctx, gone.FileID); err != nil || f.Version != gone.Version {
			t.Fatalf("%s: the file found again: %+v, %v", back, f, err)
		}
	}
}

// TestRebuiltJournal checks that a file deleted after the catalog's cursor,
// in a journal the element then rebuilds (the new one holds only the files
// it has), leaves the catalog as soon as the follower meets the new journal.
func TestRebuiltJournal(t *testing.T) {
	ctx := context.Background()
	el, cat := setup(t, 3)
	fl := fleet.New(0)
	fl.Add("rw-01", el)
	rec := New(cat, fl, nil)
	fol := follow.New(cat, fl, follow.Config{Rebuilt: func(ctx context.Context, id string) { rec.Element(ctx, id) }})
	if n, err := fol.CatchUp(ctx, "rw-01"); n != 3 || err != nil {
		t.Fatalf("catch up: %d, %v", n, err)
	}
	l, err := el.List(ctx, artstore.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	gone := l.Items[0].FileID
	if err := el.(*storage.Element).Purge(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := el.(*storage.Element).Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fol.CatchUp(ctx, "rw-01"); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Get(ctx, gone); !errs.Is(errs.NotExist, err) {
		t.Fatalf("the file deleted before the rebuild is still in the catalog: %v", err)
	}
	if rep := rec.Run(ctx); rep.Repaired != 0 || rep.Elements[0].CatalogFiles != 2 {
		t.Fatalf("reconciliation after the rebuild: %+v", rep.Elements[0])
	}
}
