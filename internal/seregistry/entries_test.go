package seregistry_test

import (
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
)

// registerFleet registers the three elements of f with distinguishable
// names and descriptions.
func registerFleet(t *testing.T, r *seregistry.Registry, f fleet) {
	t.Helper()
	for _, reg := range []seregistry.Registration{
		{URL: f.edit.url(), Name: "Working copies", Description: "Temporary uploads"},
		{URL: f.rw.url(), Name: "Archive 2025", Description: "Permanent_files, 100% kept"},
		{URL: f.big.url(), Name: "Large", Description: "Overflow for the ARCHIVE"},
	} {
		if _, err := r.Register(ctx, reg); err != nil {
			t.Fatalf("Register %s: %v", reg.URL, err)
		}
	}
}

func TestList(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		registerFleet(t, r, f)
		f.big.stop()
		if e, err := r.Sync(ctx, "se-big"); err != nil || e.Status != seregistry.StatusOffline {
			t.Fatalf("Sync of a stopped element: %+v, %v", e, err)
		}

		for _, c := range []struct {
			f    seregistry.Filter
			want string
		}{
			{seregistry.Filter{}, "se-rw,se-edit,se-big"},
			{seregistry.Filter{Mode: "rw"}, "se-rw,se-big"},
			{seregistry.Filter{Mode: "ro"}, ""},
			{seregistry.Filter{Status: "online"}, "se-rw,se-edit"},
			{seregistry.Filter{Status: "offline"}, "se-big"},
			{seregistry.Filter{Backend: "memory"}, "se-rw,se-edit,se-big"},
			{seregistry.Filter{Backend: "s3"}, ""},
			{seregistry.Filter{Query: "archive"}, "se-rw,se-big"},      // name and description, any case
			{seregistry.Filter{Query: "EDIT"}, "se-edit"},              // the id
			{seregistry.Filter{Query: "100%"}, "se-rw"},                // % is literal
			{seregistry.Filter{Query: "t_f"}, "se-rw"},                 // _ is literal
			{seregistry.Filter{Query: "w_f"}, ""},                      // "overflow for" does not match
			{seregistry.Filter{Query: "%"}, "se-rw"},                   // not a wildcard
			{seregistry.Filter{Query: "nothing like it"}, ""},          //
			{seregistry.Filter{Mode: "rw", Status: "online"}, "se-rw"}, //
			{seregistry.Filter{Limit: 2}, "se-rw,se-edit"},
			{seregistry.Filter{Limit: 2, Offset: 2}, "se-big"},
			{seregistry.Filter{Offset: 5}, ""},
		} {
			p, err := r.List(ctx, c.f)
			if err != nil {
				t.Fatalf("List(%+v): %v", c.f, err)
			}
			if got := ids(p.Items); got != c.want {
				t.Errorf("List(%+v) = %s, want %s", c.f, got, c.want)
			}
		}

		p, err := r.List(ctx, seregistry.Filter{Limit: 2})
		if err != nil || p.Total != 3 || p.Limit != 2 || p.Offset != 0 || !p.HasMore {
			t.Fatalf("first page: %+v, %v", p, err)
		}
		p, err = r.List(ctx, seregistry.Filter{Limit: 2, Offset: 2})
		if err != nil || p.Total != 3 || p.HasMore {
			t.Fatalf("last page: %+v, %v", p, err)
		}
		if p, err := r.List(ctx, seregistry.Filter{Mode: "edit"}); err != nil || p.Total != 1 || p.Limit != 100 {
			t.Fatalf("filtered total and default limit: %+v, %v", p, err)
		}

		for _, bad := range []seregistry.Filter{
			{Mode: "write"}, {Status: "up"}, {Limit: -1}, {Limit: 1001}, {Offset: -1},
			{Query: "a\x00b"}, {Query: strings.Repeat("q", 201)}, {Backend: "\xff"},
		} {
			_, err := r.List(ctx, bad)
			wantKind(t, err, errs.Invalid, "")
		}
	})
}

func TestUpdate(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		registerFleet(t, r, f)
		before, _ := r.Get(ctx, "se-edit")

		e, err := r.Update(ctx, "se-edit", seregistry.Update{Name: ptr("Scratch"), Description: ptr(""), Priority: ptr(30)})
		if err != nil || e.Name != "Scratch" || e.Description != "" || e.Priority != 30 || e.URL != before.URL {
			t.Fatalf("Update: %+v, %v", e, err)
		}
		if e.UpdatedAt.Before(before.UpdatedAt) || !e.CreatedAt.Equal(before.CreatedAt) {
			t.Fatalf("times after Update: %+v, before %+v", e, before)
		}
		// An operator's priority survives syncs; the element reports 10.
		if e, err := r.Sync(ctx, "se-edit"); err != nil || e.Priority != 30 {
			t.Fatalf("priority after Sync: %+v, %v", e, err)
		}
		if all, _ := r.Entries(ctx); ids(all) != "se-rw,se-big,se-edit" {
			t.Fatalf("fill order after the priority change: %s", ids(all))
		}
		// An empty name falls back to the element id.
		if e, err := r.Update(ctx, "se-edit", seregistry.Update{Name: ptr("  ")}); err != nil || e.Name != "se-edit" {
			t.Fatalf("empty name: %+v, %v", e, err)
		}

		// Moving to another address of the same element works.
		moved := strings.Replace(f.edit.url(), "127.0.0.1", "localhost", 1)
		if e, err := r.Update(ctx, "se-edit", seregistry.Update{URL: ptr(moved + "/")}); err != nil || e.URL != moved || e.Status != seregistry.StatusOnline {
			t.Fatalf("move: %+v, %v", e, err)
		}
		// The URL of another element is refused before it is asked; a URL
		// that serves another element, once it is.
		_, err = r.Update(ctx, "se-edit", seregistry.Update{URL: ptr(f.rw.url())})
		wantKind(t, err, errs.Exist, "")
		other := strings.Replace(f.rw.url(), "127.0.0.1", "localhost", 1)
		_, err = r.Update(ctx, "se-edit", seregistry.Update{URL: ptr(other)})
		wantKind(t, err, errs.Conflict, "ELEMENT_MISMATCH")
		f.big.stop()
		_, err = r.Update(ctx, "se-edit", seregistry.Update{URL: ptr(f.big.url())})
		wantKind(t, err, errs.Exist, "")
		_, err = r.Update(ctx, "se-rw", seregistry.Update{URL: ptr("http://127.0.0.1:1")})
		wantKind(t, err, errs.Unavailable, "ELEMENT_UNREACHABLE")

		for _, up := range []seregistry.Update{
			{Name: ptr(strings.Repeat("x", 101))},
			{Description: ptr(strings.Repeat("x", 1001))},
			{Priority: ptr(-5)},
			{URL: ptr("gopher://x")},
			{URL: ptr("https://u:p@example.com")},
		} {
			_, err := r.Update(ctx, "se-edit", up)
			wantKind(t, err, errs.Invalid, "")
		}
		_, err = r.Update(ctx, "se-none", seregistry.Update{Name: ptr("x")})
		wantKind(t, err, errs.NotExist, "")

		// Nothing a failed update tried was kept.
		if e, _ := r.Get(ctx, "se-edit"); e.URL != moved || e.Name != "se-edit" || e.Priority != 30 {
			t.Fatalf("after failed updates: %+v", e)
		}
	})
}

func TestDelete(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		registerFleet(t, r, f)

		// Files written after the registration count: Delete syncs first.
		files := f.edit.upload(2)
		err := r.Delete(ctx, "se-edit")
		wantKind(t, err, errs.Conflict, "ELEMENT_NOT_EMPTY")
		if e, err := r.Get(ctx, "se-edit"); err != nil || e.FileCount != 2 {
			t.Fatalf("after refused Delete: %+v, %v", e, err)
		}
		for _, id := range files {
			if err := f.edit.el.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Delete(ctx, "se-edit"); err != nil {
			t.Fatalf("Delete of the emptied element: %v", err)
		}
		_, err = r.Get(ctx, "se-edit")
		wantKind(t, err, errs.NotExist, "")
		if _, ok := r.Element("se-edit"); ok {
			t.Fatal("Element still reaches a deleted entry")
		}
		wantKind(t, r.Delete(ctx, "se-edit"), errs.NotExist, "")
		wantKind(t, r.Delete(ctx, "bad/id"), errs.Invalid, "")

		// An element that cannot be asked is judged by its last answer.
		f.big.upload(1)
		if _, err := r.Sync(ctx, "se-big"); err != nil {
			t.Fatal(err)
		}
		f.big.stop()
		wantKind(t, r.Delete(ctx, "se-big"), errs.Conflict, "ELEMENT_NOT_EMPTY")
		f.rw.stop()
		if err := r.Delete(ctx, "se-rw"); err != nil {
			t.Fatalf("Delete of an offline element last seen empty: %v", err)
		}

		// A deleted element may be registered again.
		if _, err := r.Register(ctx, seregistry.Registration{URL: f.edit.url()}); err != nil {
			t.Fatalf("registering again: %v", err)
		}
	})
}

func TestSummary(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		if s, err := r.Summary(ctx); err != nil || s.Elements != 0 || len(s.ByMode) != 4 || len(s.ByStatus) != 2 {
			t.Fatalf("empty Summary: %+v, %v", s, err)
		}
		f.edit.upload(2)
		f.big.upload(3)
		registerFleet(t, r, f)
		f.rw.stop()
		if _, err := r.SyncAll(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := r.Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		edit, _ := r.Get(ctx, "se-edit")
		big, _ := r.Get(ctx, "se-big")
		used := edit.Capacity.Used + big.Capacity.Used
		if s.Elements != 3 || s.FileCount != 5 || s.Unlimited != 1 || s.Capacity.Total != 1<<20+1<<30 ||
			s.Capacity.Used != used || s.Capacity.Available != 1<<20+1<<30-used {
			t.Fatalf("totals: %+v", s.Totals)
		}
		if m := s.ByMode[artstore.ModeRW]; m.Elements != 2 || m.FileCount != 3 || m.Unlimited != 1 || m.Capacity.Total != 1<<30 {
			t.Fatalf("rw: %+v", m)
		}
		if m := s.ByMode[artstore.ModeEdit]; m.Elements != 1 || m.FileCount != 2 {
			t.Fatalf("edit: %+v", m)
		}
		if m := s.ByMode[artstore.ModeAR]; m.Elements != 0 {
			t.Fatalf("ar: %+v", m)
		}
		if on, off := s.ByStatus[seregistry.StatusOnline], s.ByStatus[seregistry.StatusOffline]; on.Elements != 2 || on.FileCount != 5 || off.Elements != 1 || off.Unlimited != 1 {
			t.Fatalf("by status: online %+v, offline %+v", on, off)
		}
	})
}
