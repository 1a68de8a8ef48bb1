package catalog_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// event is one state of a file arriving from an element: a live version
// (put) or a delete.
type event struct {
	el   string
	del  bool
	v    int64
	desc string
}

func put(el string, v int64) event               { return event{el: el, v: v, desc: fmt.Sprintf("%s v%d", el, v)} }
func del(el string, v int64) event               { return event{el: el, del: true, v: v} }
func putDesc(el string, v int64, d string) event { return event{el: el, v: v, desc: d} }

// versionRules lists histories of one file and where the catalog must place
// it after applying them in the order given: "element@version" and the
// description of the state that won, or "-" when the file is not live.
// As a storage element journals them, a delete takes the version after the
// file's last one, and a finalized copy on another element a version above
// the temporary copy's.
var versionRules = []struct {
	name   string
	events []event
	want   string
}{
	{"create", []event{put("E", 1)}, "E@1 E v1"},
	{"update", []event{put("E", 1), put("E", 2)}, "E@2 E v2"},
	{"older update arrives late", []event{put("E", 2), put("E", 1)}, "E@2 E v2"},
	{"replay is a no-op", []event{putDesc("E", 1, "first"), putDesc("E", 1, "second")}, "E@1 first"},
	{"delete", []event{put("E", 1), del("E", 2)}, "-"},
	{"delete arrives first", []event{del("E", 2), put("E", 1)}, "-"},
	{"delete of an older version", []event{put("E", 2), del("E", 1)}, "E@2 E v2"},
	{"delete after an update", []event{put("E", 1), put("E", 2), del("E", 3)}, "-"},
	{"replayed delete", []event{put("E", 1), del("E", 2), del("E", 2), put("E", 1)}, "-"},
	{"created again after a delete", []event{put("E", 1), del("E", 2), put("E", 3)}, "E@3 E v3"},
	{"unknown file deleted, then created newer", []event{del("E", 1), put("E", 2)}, "E@2 E v2"},
	{"a wrong tombstone gives way to the live state", []event{put("E", 1), del("E", 1), put("E", 1)}, "E@1 E v1"},
	{"move: new copy first", []event{put("R", 2), put("E", 1), del("E", 2)}, "R@2 R v2"},
	{"move: old copy first", []event{put("E", 1), put("R", 2), del("E", 2)}, "R@2 R v2"},
	{"move: old copy deleted before the new arrives", []event{put("E", 1), del("E", 2), put("R", 2)}, "R@2 R v2"},
	{"move: old copy deleted first of all", []event{del("E", 2), put("R", 2), put("E", 1)}, "R@2 R v2"},
	{"move: delete on the old element at a higher version", []event{put("E", 1), put("R", 2), del("E", 3)}, "R@2 R v2"},
	{"tombstone of another element at the same version", []event{del("E", 2), put("R", 2)}, "R@2 R v2"},
	{"tombstone of another element at a higher version", []event{del("E", 3), put("R", 2)}, "-"},
	{"same version from another element", []event{put("E", 1), put("R", 1)}, "E@1 E v1"},
	{"delete from an element that never held it", []event{put("R", 2), del("E", 5)}, "R@2 R v2"},
	{"update on the new element after a move", []event{put("E", 1), put("R", 2), put("R", 3), put("E", 1)}, "R@3 R v3"},
}

// delivery applies one event to the catalog.
type delivery func(t *testing.T, c *catalog.Catalog, id string, e event)

// journals delivers each event as a one-entry page of its element's
// journal, as a consumer following the element would.
func journals() delivery {
	seqs := map[string]int64{}
	return func(t *testing.T, c *catalog.Catalog, id string, e event) {
		seqs[e.el]++
		ch := deleted(seqs[e.el], id, e.v)
		if !e.del {
			f := file(id, e.el, e.v)
			f.Description = e.desc
			ch = created(seqs[e.el], f)
		}
		mustApply(t, c, e.el, page("j-"+e.el, ch))
	}
}

// reconciliation delivers each event through Put or Remove.
func reconciliation(t *testing.T, c *catalog.Catalog, id string, e event) {
	t.Helper()
	if e.del {
		if err := c.Remove(ctx, e.el, id, e.v); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		return
	}
	f := file(id, e.el, e.v)
	f.Description = e.desc
	if err := c.Put(ctx, f); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// state describes what the catalog says of a file, in the terms of
// versionRules.want, and checks that Files agrees.
func state(t *testing.T, c *catalog.Catalog, id string, elements ...string) string {
	t.Helper()
	got := "-"
	f, err := c.Get(ctx, id)
	switch {
	case err == nil:
		got = fmt.Sprintf("%s@%d %s", f.StorageElementID, f.Version, f.Description)
	case !errs.Is(errs.NotExist, err):
		t.Fatalf("Get(%s): %v", id, err)
	}
	for _, el := range elements {
		listed := slices.ContainsFunc(filesOn(t, c, el), func(s string) bool { return strings.HasPrefix(s, id+"@") })
		if want := got != "-" && f.StorageElementID == el; listed != want {
			t.Errorf("%s: Files(%s) lists it: %v, want %v", id, el, listed, want)
		}
	}
	return got
}

func TestVersionRules(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		for mode, deliver := range map[string]delivery{"journal": journals(), "put": reconciliation} {
			for i, tc := range versionRules {
				id := fmt.Sprintf("%s-%02d", mode, i)
				for _, e := range tc.events {
					deliver(t, c, id, e)
				}
				if got := state(t, c, id, "E", "R"); got != tc.want {
					t.Errorf("%s %s: got %s, want %s", mode, tc.name, got, tc.want)
				}
			}
		}
	})
}

// TestVersionRulesInOnePage applies the histories that come from a single
// element as one journal page, where the catalog resolves them in memory.
func TestVersionRulesInOnePage(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		for i, tc := range versionRules {
			if slices.ContainsFunc(tc.events, func(e event) bool { return e.el != "E" }) {
				continue
			}
			id := fmt.Sprintf("page-%02d", i)
			var items []artstore.Change
			for j, e := range tc.events {
				if e.del {
					items = append(items, deleted(int64(j+1), id, e.v))
					continue
				}
				f := file(id, "E", e.v)
				f.Description = e.desc
				items = append(items, updated(int64(j+1), f))
			}
			mustApply(t, c, "E", page(id, items...)) // a journal of its own
			if got := state(t, c, id, "E"); got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
			}
		}
	})
}

func TestApplyMovesCursor(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		cursor := func(el string) string {
			t.Helper()
			j, seq, err := c.Cursor(ctx, el)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%s:%d", j, seq)
		}
		if got := cursor("se-1"); got != ":0" {
			t.Errorf("new cursor = %s, want :0", got)
		}
		a, b := file("a", "se-1", 1), file("b", "se-1", 1)
		mustApply(t, c, "se-1", page("j1", created(1, a), created(2, b)))
		if got := cursor("se-1"); got != "j1:2" {
			t.Errorf("cursor = %s, want j1:2", got)
		}
		if got := cursor("se-2"); got != ":0" {
			t.Errorf("another element's cursor = %s, want :0", got)
		}

		// Entries at or before the cursor are skipped, even when they would
		// otherwise apply.
		a5 := file("a", "se-1", 5)
		mustApply(t, c, "se-1", page("j1", updated(2, a5), created(3, file("c", "se-1", 1))))
		if got := where(t, c, "a"); got != "se-1@1" {
			t.Errorf("after a replayed entry, a is %s, want se-1@1", got)
		}
		if got := where(t, c, "c"); got != "se-1@1" {
			t.Errorf("c is %s, want se-1@1", got)
		}
		if got := cursor("se-1"); got != "j1:3" {
			t.Errorf("cursor = %s, want j1:3", got)
		}

		// A stale page does not move the cursor back.
		mustApply(t, c, "se-1", artstore.Changes{JournalID: "j1", LastSeq: 1})
		if got := cursor("se-1"); got != "j1:3" {
			t.Errorf("after a stale page, cursor = %s, want j1:3", got)
		}
		// An empty page moves it forward.
		mustApply(t, c, "se-1", artstore.Changes{JournalID: "j1", LastSeq: 7})
		if got := cursor("se-1"); got != "j1:7" {
			t.Errorf("after an empty page, cursor = %s, want j1:7", got)
		}

		// A rebuilt journal starts again from 1; every entry applies and
		// the cursor is replaced.
		mustApply(t, c, "se-1", page("j2", created(1, a5), created(2, b)))
		if got := where(t, c, "a"); got != "se-1@5" {
			t.Errorf("after the new journal, a is %s, want se-1@5", got)
		}
		if got := cursor("se-1"); got != "j2:2" {
			t.Errorf("cursor = %s, want j2:2", got)
		}
		// Replaying the whole new journal changes nothing.
		mustApply(t, c, "se-1", page("j2", created(1, a5), created(2, b)))
		if got := cursor("se-1"); got != "j2:2" {
			t.Errorf("after a replay, cursor = %s, want j2:2", got)
		}
		// An entry of the old journal, pushed late by the bus, neither
		// applies nor takes the cursor back.
		mustApply(t, c, "se-1", page("j1", created(8, file("d", "se-1", 1))))
		if got := cursor("se-1"); got != "j2:2" {
			t.Errorf("after a late entry of the old journal, cursor = %s, want j2:2", got)
		}
		if _, err := c.Get(ctx, "d"); !errs.Is(errs.NotExist, err) {
			t.Errorf("a late entry of the old journal applied: %v", err)
		}
	})
}

// TestApplyIsAtomic makes the database fail in the middle of a page and
// checks that neither the files nor the cursor moved.
func TestApplyIsAtomic(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		mustApply(t, c, "se-1", page("j1", created(1, file("a", "se-1", 1))))

		failOn := func(desc string) {
			t.Helper()
			stmts := []string{`CREATE TRIGGER boom BEFORE INSERT ON cat_docs
				WHEN NEW.doc LIKE '%"description":"` + desc + `"%'
				BEGIN SELECT RAISE(ABORT, 'boom'); END`}
			if db.Dialect == sqldb.Postgres {
				stmts = []string{
					`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN
						IF NEW.doc LIKE '%"description":"` + desc + `"%' THEN RAISE EXCEPTION 'boom'; END IF;
						RETURN NEW;
					END $$`,
					`CREATE TRIGGER boom BEFORE INSERT ON cat_docs FOR EACH ROW EXECUTE FUNCTION boom()`,
				}
			}
			for _, s := range stmts {
				if _, err := db.ExecContext(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		failOn("boom")

		a2, b, bad := file("a", "se-1", 2), file("b", "se-1", 1), file("c", "se-1", 1)
		bad.Description = "boom"
		err := c.Apply(ctx, "se-1", page("j1", updated(2, a2), created(3, b), created(4, bad)))
		if err == nil {
			t.Fatal("Apply succeeded despite the failing trigger")
		}
		if errs.Is(errs.Invalid, err) {
			t.Errorf("a database failure reads as invalid input: %v", err)
		}
		for id, want := range map[string]string{"a": "se-1@1", "b": "-", "c": "-"} {
			if got := where(t, c, id); got != want {
				t.Errorf("after the failed page, %s is %s, want %s", id, got, want)
			}
		}
		if j, seq, _ := c.Cursor(ctx, "se-1"); j != "j1" || seq != 1 {
			t.Errorf("after the failed page, cursor = %s:%d, want j1:1", j, seq)
		}
		if got := search(t, c, catalog.Query{StorageElementID: "se-1"}).Total; got != 1 {
			t.Errorf("search finds %d files, want 1", got)
		}

		// Once the failure is gone the same page applies.
		if _, err := db.ExecContext(ctx, `DROP TRIGGER boom`+map[sqldb.Dialect]string{sqldb.Postgres: " ON cat_docs"}[db.Dialect]); err != nil {
			t.Fatal(err)
		}
		mustApply(t, c, "se-1", page("j1", updated(2, a2), created(3, b), created(4, bad)))
		for id, want := range map[string]string{"a": "se-1@2", "b": "se-1@1", "c": "se-1@1"} {
			if got := where(t, c, id); got != want {
				t.Errorf("after the retried page, %s is %s, want %s", id, got, want)
			}
		}
		if j, seq, _ := c.Cursor(ctx, "se-1"); j != "j1" || seq != 4 {
			t.Errorf("after the retried page, cursor = %s:%d, want j1:4", j, seq)
		}
	})
}

func TestApplyRejectsMalformedPages(t *testing.T) {
	noFile := created(2, file("x", "se-1", 1))
	noFile.File = nil
	mismatch := created(2, file("x", "se-1", 1))
	mismatch.FileID = "y"
	unknown := created(2, file("x", "se-1", 1))
	unknown.Type = "file.renamed"
	noID := deleted(2, "", 1)
	badID := deleted(2, "a\xffb", 1)
	tests := []struct {
		name    string
		element string
		entry   artstore.Change
	}{
		{"no element", "", created(2, file("x", "", 1))},
		{"created without a file", "se-1", noFile},
		{"file id mismatch", "se-1", mismatch},
		{"unknown type", "se-1", unknown},
		{"no file id", "se-1", noID},
		{"file id not UTF-8", "se-1", badID},
	}
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		for _, tc := range tests {
			good := created(1, file("good", "se-1", 1))
			err := c.Apply(ctx, tc.element, page("j1", good, tc.entry))
			if !errs.Is(errs.Invalid, err) {
				t.Errorf("%s: Apply = %v, want an invalid error", tc.name, err)
			}
			if got := where(t, c, "good"); got != "-" {
				t.Errorf("%s: the valid entry of the page was applied", tc.name)
			}
			if j, seq, _ := c.Cursor(ctx, "se-1"); j != "" || seq != 0 {
				t.Errorf("%s: cursor moved to %s:%d", tc.name, j, seq)
			}
		}
	})
}

func TestPutAndRemoveReject(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		for name, err := range map[string]error{
			"nil file":      c.Put(ctx, nil),
			"no element":    c.Put(ctx, file("a", "", 1)),
			"no file id":    c.Put(ctx, file("", "se-1", 1)),
			"remove no el":  c.Remove(ctx, "", "a", 1),
			"remove no id":  c.Remove(ctx, "se-1", "", 1),
			"remove bad id": c.Remove(ctx, "se-1", "\x00", 1),
		} {
			if !errs.Is(errs.Invalid, err) {
				t.Errorf("%s: %v, want an invalid error", name, err)
			}
		}
	})
}

// TestMissing checks that a file its element did not find leaves the
// catalog, comes back when the element shows it again at the same version,
// and that a report about a version the catalog has passed changes nothing.
func TestMissing(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		mustApply(t, c, "se-1", page("j1", created(1, file("a", "se-1", 3))))
		if err := c.Missing(ctx, "se-1", "a", 3); err != nil {
			t.Fatal(err)
		}
		if got := where(t, c, "a"); got != "-" {
			t.Fatalf("after Missing, a is %s", got)
		}
		if err := c.Put(ctx, file("a", "se-1", 3)); err != nil {
			t.Fatal(err)
		}
		if got := where(t, c, "a"); got != "se-1@3" {
			t.Fatalf("shown again at its version, a is %s, want se-1@3", got)
		}
		mustApply(t, c, "se-1", page("j1", updated(2, file("a", "se-1", 4))))
		if err := c.Missing(ctx, "se-1", "a", 3); err != nil {
			t.Fatal(err)
		}
		if got := where(t, c, "a"); got != "se-1@4" {
			t.Fatalf("after a stale Missing, a is %s, want se-1@4", got)
		}
	})
}
