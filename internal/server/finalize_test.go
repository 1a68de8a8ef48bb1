package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testcluster"
	"github.com/artstore/artstore/internal/testenv"
)

func noMargin(cfg *config.Config) {
	cfg.FinalizeMargin = config.Duration(time.Nanosecond)
	noBackground(cfg)
}

// noBackground turns off periodic collection and reconciliation, so that
// a test settles finalizes only when it asks.
func noBackground(cfg *config.Config) { cfg.GC.Interval, cfg.ReconcileInterval = 0, 0 }

// TestFinalize turns a temporary file into a permanent one and removes the
// temporary copy once the margin has passed.
func TestFinalize(t *testing.T) {
	c := testcluster.Start(t, noMargin)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	temp := mustFile(t, ingestUpload(t, c, tok, "contract.pdf", "signed contract",
		[2]string{"description", "the contract"}, [2]string{"tags", `["legal"]`}, [2]string{"metadata", `{"party":"acme"}`}), 201)

	perm := mustFile(t, c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil), 200)
	if perm.FileID != temp.FileID || perm.StorageElementID != "rw-01" || perm.RetentionPolicy != artstore.Permanent ||
		perm.ExpiresAt != nil || perm.Checksum != temp.Checksum || perm.Version <= temp.Version ||
		perm.UploadedBy != temp.UploadedBy || !perm.UploadedAt.Equal(temp.UploadedAt) ||
		perm.Description != "the contract" || perm.Metadata["party"] != "acme" || len(perm.Tags) != 1 {
		t.Fatalf("finalized %+v from %+v", perm, temp)
	}
	got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200)
	if got.StorageElementID != "rw-01" || got.RetentionPolicy != artstore.Permanent {
		t.Fatalf("registry after finalize: %+v", got)
	}
	// Twice is harmless.
	again := mustFile(t, c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil), 200)
	if again.StorageElementID != "rw-01" || again.Version != perm.Version {
		t.Fatalf("second finalize: %+v", again)
	}
	if r := c.Do("DELETE", "/api/v1/files/"+temp.FileID, tok, "", nil, nil); r.StatusCode != 409 {
		t.Fatalf("delete of a finalized file: %d", r.StatusCode)
	}
	// The temporary copy stays until the collector runs after the margin.
	if r := c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("temporary copy before the margin: %d", r.StatusCode)
	}
	// Meanwhile the temporary copy is no drift to repair.
	var early struct{ Repaired int }
	c.Do("POST", "/api/v1/reconcile", admin, "", nil, nil).JSON(t, &early)
	if early.Repaired != 0 {
		t.Fatalf("reconciliation before the sweep repaired %d", early.Repaired)
	}
	r := c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil)
	var rep struct {
		FinalizedCopies []string `json:"finalized_copies"`
		Deleted         []string `json:"deleted"`
	}
	r.JSON(t, &rep)
	if len(rep.FinalizedCopies) != 1 || rep.FinalizedCopies[0] != temp.FileID || len(rep.Deleted) != 0 {
		t.Fatalf("gc report: %s", r.Body)
	}
	if r := c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("temporary copy after the margin: %d", r.StatusCode)
	}
	// Nothing is kept of a finished finalize.
	db := catalogDB(t, c)
	var rows int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ingest_finalize`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d finalize rows left after the sweep (%v), want none", rows, err)
	}
	// The edit element's delete reaches the catalog and changes nothing.
	time.Sleep(200 * time.Millisecond)
	if r := c.Do("GET", "/api/v1/files/"+temp.FileID+"/download", tok, "", nil, nil); r.StatusCode != 200 || string(r.Body) != "signed contract" {
		t.Fatalf("download after the sweep: %d %q", r.StatusCode, r.Body)
	}
	if res := search(t, c, tok, map[string]any{"query": "contract"}); res.Total != 1 || res.Items[0].StorageElementID != "rw-01" {
		t.Fatalf("search after the sweep: %+v", res)
	}
	var rec struct{ Repaired int }
	c.Do("POST", "/api/v1/reconcile", admin, "", nil, nil).JSON(t, &rec)
	if rec.Repaired != 0 {
		t.Fatalf("reconciliation repaired %d", rec.Repaired)
	}
}

// TestFinalizeCrash stops a finalize after each durable step, restarts the
// server, and checks that exactly one authoritative copy remains and the
// registry agrees with it.
func TestFinalizeCrash(t *testing.T) {
	for _, step := range []string{"begun", "copied"} {
		t.Run(step, func(t *testing.T) {
			c, tok, admin, temp := stopFinalizeAt(t, step)
			c.Restart()
			got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200)
			onEdit := c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil).StatusCode
			onRW := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil).StatusCode
			switch step {
			case "begun": // rolled back: still temporary, nothing on the target
				if got.StorageElementID != "edit-01" || got.RetentionPolicy != artstore.Temporary || onEdit != 200 || onRW != 404 {
					t.Fatalf("after a crash at %s: registry %s/%s, edit %d, rw %d", step, got.StorageElementID, got.RetentionPolicy, onEdit, onRW)
				}
			case "copied": // resumed: the permanent copy is authoritative
				if got.StorageElementID != "rw-01" || got.RetentionPolicy != artstore.Permanent || onRW != 200 {
					t.Fatalf("after a crash at %s: registry %s/%s, edit %d, rw %d", step, got.StorageElementID, got.RetentionPolicy, onEdit, onRW)
				}
			}
			r := c.Do("GET", "/api/v1/files/"+temp.FileID+"/download", tok, "", nil, nil)
			if r.StatusCode != 200 || string(r.Body) != "finalize me" {
				t.Fatalf("download after recovery: %d %q", r.StatusCode, r.Body)
			}
			// Finalizing now completes (or confirms) it.
			f := mustFile(t, c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil), 200)
			if f.StorageElementID != "rw-01" || f.Checksum != temp.Checksum {
				t.Fatalf("finalize after recovery: %+v", f)
			}
		})
	}
}

// TestFinalizeFailedCopy corrupts the temporary copy: the permanent copy's
// checksum differs, the finalize fails, and nothing is left on the target.
func TestFinalizeFailedCopy(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	temp := mustFile(t, ingestUpload(t, c, tok, "rot.txt", "original bytes"), 201)
	p := filepath.Join(c.DataDir, "elements", "edit-01", "files", temp.StoragePath, temp.StorageFilename)
	if err := os.WriteFile(p, []byte("rotten  bytes!"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil)
	if r.StatusCode != 500 || errCode(t, r) != "CHECKSUM_MISMATCH" {
		t.Fatalf("finalize of a corrupt file: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("orphan on the target: %d", r.StatusCode)
	}
	if got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200); got.StorageElementID != "edit-01" {
		t.Fatalf("registry after a failed finalize: %+v", got)
	}
}

// TestFinalizeInterrupted stops a finalize after each durable step without
// a restart, as a failure of the step after it would: the next collection
// settles it, and finalizing again then works.
func TestFinalizeInterrupted(t *testing.T) {
	for _, step := range []string{"begun", "copied"} {
		t.Run(step, func(t *testing.T) {
			c, tok, admin, temp := stopFinalizeAt(t, step)
			c.Server.Ingest().SetFinalizeHook(nil)
			if r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil); r.StatusCode != 409 {
				t.Fatalf("finalize while the first is unsettled: %d %s", r.StatusCode, r.Body)
			}
			if r := c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil); r.StatusCode != 200 {
				t.Fatalf("gc run: %d %s", r.StatusCode, r.Body)
			}
			got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200)
			onRW := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil).StatusCode
			switch {
			case step == "begun" && (got.RetentionPolicy != artstore.Temporary || onRW != 404),
				step == "copied" && (got.StorageElementID != "rw-01" || got.RetentionPolicy != artstore.Permanent || onRW != 200):
				t.Fatalf("after the collection, a failure at %s: registry %s/%s, rw %d", step, got.StorageElementID, got.RetentionPolicy, onRW)
			}
			f := mustFile(t, c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil), 200)
			if f.StorageElementID != "rw-01" || f.Checksum != temp.Checksum {
				t.Fatalf("finalize after the collection: %+v", f)
			}
		})
	}
}

// TestFinalizeSettledMeanwhile checks that a finalize whose job another
// process settled while it copied (its copy removed, its row dropped, as a
// sweep does for a finalize older than an hour) fails with 409 instead of
// pointing the registry at the removed copy.
func TestFinalizeSettledMeanwhile(t *testing.T) {
	c, tok, admin, temp := tempFile(t)
	db := catalogDB(t, c)
	c.Server.Ingest().SetFinalizeHook(func(step string) error {
		if step != "copied" {
			return nil
		}
		if r := c.Do("DELETE", "/elements/rw-01/api/v1/gc/"+temp.FileID, admin, "", nil, nil); r.StatusCode >= 300 {
			t.Errorf("purging the copy: %d %s", r.StatusCode, r.Body)
		}
		if _, err := db.ExecContext(context.Background(), `DELETE FROM ingest_finalize WHERE file_id = ?`, temp.FileID); err != nil {
			t.Error(err)
		}
		return nil
	})
	if r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil); r.StatusCode != 409 {
		t.Fatalf("finalize settled meanwhile: %d %s", r.StatusCode, r.Body)
	}
	// The registry does not name the removed copy; the temporary one stays.
	if r := c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil); r.StatusCode == 200 && strings.Contains(string(r.Body), `"rw-01"`) {
		t.Fatalf("registry points at the removed copy: %s", r.Body)
	}
	if r := c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("temporary copy after a finalize settled meanwhile: %d", r.StatusCode)
	}
}

// TestFinalizeRollbackKeepsFile rolls back a finalize whose copy the
// target committed, as a lost answer from the target would: removing the
// copy journals a delete above the temporary copy's version, yet the file
// must stay found, temporary, on its edit element, and downloadable.
func TestFinalizeRollbackKeepsFile(t *testing.T) {
	c, tok, admin, temp := tempFile(t)
	c.Server.Ingest().SetFinalizeHook(func(step string) error {
		if step == "written" {
			return errors.New("the answer was lost")
		}
		return nil
	})
	if r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil); r.StatusCode < 500 {
		t.Fatalf("finalize whose answer was lost: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("the copy after the rollback: %d", r.StatusCode)
	}
	testenv.Eventually(t, 10*time.Second, "the file back on its edit element", func() bool {
		r := c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil)
		return r.StatusCode == 200 && strings.Contains(string(r.Body), `"edit-01"`)
	})
	got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200)
	if got.RetentionPolicy != artstore.Temporary || got.Checksum != temp.Checksum || got.OriginalFilename != temp.OriginalFilename {
		t.Fatalf("the file after the rollback: %+v", got)
	}
	if res := search(t, c, tok, map[string]any{"filename": "doc"}); res.Total != 1 || res.Items[0].StorageElementID != "edit-01" {
		t.Fatalf("search after the rollback: %+v", res)
	}
	r := c.Do("GET", "/api/v1/files/"+temp.FileID+"/download", tok, "", nil, nil)
	if r.StatusCode != 200 || string(r.Body) != "finalize me" {
		t.Fatalf("download after the rollback: %d %q", r.StatusCode, r.Body)
	}
	// Clients cannot set a version.
	r = c.Do("PATCH", "/api/v1/files/"+temp.FileID, tok, "application/json", strings.NewReader(`{"min_version": 99}`), nil)
	if r.StatusCode != 400 {
		t.Fatalf("a client's min_version: %d %s", r.StatusCode, r.Body)
	}
	r = c.Do("PATCH", "/elements/edit-01/api/v1/files/"+temp.FileID, tok, "application/json", strings.NewReader(`{"min_version": 99}`), nil)
	if r.StatusCode != 403 {
		t.Fatalf("a user's min_version on the element: %d %s", r.StatusCode, r.Body)
	}
	if f := mustFile(t, c.Do("PATCH", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "application/json", strings.NewReader(`{"min_version": 99}`), nil), 200); f.Version != 99 {
		t.Fatalf("the admin's min_version on the element: version %d", f.Version)
	}
	r = c.Do("PATCH", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "application/json", strings.NewReader(`{"min_version": 9223372036854775807}`), nil)
	if r.StatusCode != 400 {
		t.Fatalf("a min_version near overflow: %d %s", r.StatusCode, r.Body)
	}
}

// TestFinalizeOnRWElement finalizes a temporary file uploaded straight to
// the only rw element: the copy cannot go to the element that holds it,
// so the finalize is refused, and the file is left as it was.
func TestFinalizeOnRWElement(t *testing.T) {
	c := testcluster.Start(t, noBackground)
	tok, admin := c.Account("app", "user"), c.AdminToken()
	f := mustFile(t, upload(t, c, "rw-01", tok, "direct.txt", "kept"), 201)
	if f.RetentionPolicy != artstore.Temporary {
		t.Fatalf("a direct upload without a policy: %s", f.RetentionPolicy)
	}
	testenv.Eventually(t, 10*time.Second, "the journal to bring the file", func() bool {
		return c.Do("GET", "/api/v1/files/"+f.FileID, tok, "", nil, nil).StatusCode == 200
	})
	if r := c.Do("POST", "/api/v1/files/"+f.FileID+"/finalize", tok, "", nil, nil); r.StatusCode != 503 || errCode(t, r) != "NO_STORAGE_AVAILABLE" {
		t.Fatalf("finalize with no other rw element: %d %s", r.StatusCode, r.Body)
	}
	r := c.Do("GET", "/elements/rw-01/api/v1/files/"+f.FileID+"/download", admin, "", nil, nil)
	if r.StatusCode != 200 || string(r.Body) != "kept" {
		t.Fatalf("the file after the refused finalize: %d %q", r.StatusCode, r.Body)
	}
	if got := mustFile(t, c.Do("GET", "/api/v1/files/"+f.FileID, tok, "", nil, nil), 200); got.Version != f.Version {
		t.Fatalf("the file after the refused finalize: %+v", got)
	}
}

// TestRollbackLeavesSettledFinalize fails a finalize's copy after another
// process has completed the same finalize (as one that took the copy for
// complete would): the rollback leaves that finalize and the file alone.
func TestRollbackLeavesSettledFinalize(t *testing.T) {
	c := testcluster.Start(t, noBackground)
	tok := c.Account("app", "user")
	temp := mustFile(t, ingestUpload(t, c, tok, "rot.txt", "original bytes"), 201)
	p := filepath.Join(c.DataDir, "elements", "edit-01", "files", temp.StoragePath, temp.StorageFilename)
	if err := os.WriteFile(p, []byte("rotten  bytes!"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := catalogDB(t, c)
	c.Server.Ingest().SetFinalizeHook(func(step string) error {
		if step == "begun" {
			_, err := db.ExecContext(context.Background(), `UPDATE ingest_finalize SET state = 'copied' WHERE file_id = ?`, temp.FileID)
			return err
		}
		return nil
	})
	if r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil); r.StatusCode != 500 {
		t.Fatalf("finalize of a corrupt file: %d %s", r.StatusCode, r.Body)
	}
	var state string
	if err := db.QueryRowContext(context.Background(), `SELECT state FROM ingest_finalize WHERE file_id = ?`, temp.FileID).Scan(&state); err != nil || state != "copied" {
		t.Fatalf("the other process's finalize after the rollback: %q %v", state, err)
	}
	if f := mustFile(t, c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, c.AdminToken(), "", nil, nil), 200); f.Version != temp.Version {
		t.Fatalf("the temporary copy was raised to version %d", f.Version)
	}
}

// TestFinalizeSettledByOther has another process settle a finalize while
// its copy is being written, as a restart or a collection an hour later
// may: when that process rolls it back, the copy is removed and the
// finalize answers 409, and the collection then finishes the rollback;
// when that process completed it, the finalize is a success.
func TestFinalizeSettledByOther(t *testing.T) {
	for _, state := range []string{"rolling_back", "copied"} {
		t.Run(state, func(t *testing.T) {
			c, tok, admin, temp := tempFile(t)
			db := catalogDB(t, c)
			c.Server.Ingest().SetFinalizeHook(func(step string) error {
				if step != "copied" {
					return nil
				}
				_, err := db.ExecContext(context.Background(), `UPDATE ingest_finalize SET state = ? WHERE file_id = ?`, state, temp.FileID)
				return err
			})
			r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil)
			onRW := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil).StatusCode
			if state == "copied" {
				if f := mustFile(t, r, 200); f.StorageElementID != "rw-01" || onRW != 200 {
					t.Fatalf("a finalize another process completed: %+v, rw %d", f, onRW)
				}
				return
			}
			if r.StatusCode != 409 || onRW != 404 {
				t.Fatalf("a finalize rolled back meanwhile: %d %s, rw %d", r.StatusCode, r.Body, onRW)
			}
			c.Server.Ingest().SetFinalizeHook(nil)
			if r := c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil); r.StatusCode != 200 {
				t.Fatalf("gc run: %d %s", r.StatusCode, r.Body)
			}
			var n int
			if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ingest_finalize`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("finalizes left after the collection: %d %v", n, err)
			}
			testenv.Eventually(t, 10*time.Second, "the file on its edit element", func() bool {
				r := c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil)
				return r.StatusCode == 200 && strings.Contains(string(r.Body), `"edit-01"`)
			})
		})
	}
}

// TestFinalizeOtherProcess checks the collector's patience with finalizes
// another process began: one an hour old is settled (here, with no copy on
// the target, forgotten), a younger one is left alone, since its copy may
// still be running there.
func TestFinalizeOtherProcess(t *testing.T) {
	c := testcluster.Start(t, noBackground)
	tok, admin := c.Account("app", "user"), c.AdminToken()
	old := mustFile(t, ingestUpload(t, c, tok, "old.txt", "old"), 201)
	young := mustFile(t, ingestUpload(t, c, tok, "young.txt", "young"), 201)
	db := catalogDB(t, c)
	for _, j := range []struct {
		f   artstore.File
		age time.Duration
	}{{old, 61 * time.Minute}, {young, 10 * time.Minute}} {
		if _, err := db.ExecContext(context.Background(), `INSERT INTO ingest_finalize (file_id, source_element, target_element, state, checksum, created_at, remove_after)
			VALUES (?, 'edit-01', 'rw-01', 'copying', ?, ?, 0)`, j.f.FileID, j.f.Checksum, time.Now().Add(-j.age).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if r := c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("gc run: %d %s", r.StatusCode, r.Body)
	}
	left := map[string]bool{}
	rows, err := db.QueryContext(context.Background(), `SELECT file_id FROM ingest_finalize`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		left[id] = true
	}
	rows.Close()
	if left[old.FileID] || !left[young.FileID] || len(left) != 1 {
		t.Fatalf("finalizes left after the collection: %v; want only %s (the young one)", left, young.FileID)
	}
}

// stopFinalizeAt starts a cluster without background collection, uploads
// a temporary file and finalizes it with a failure after the given
// durable step, as a crash there would leave it. It returns the cluster,
// a user's and the admin's tokens, and the file.
func stopFinalizeAt(t *testing.T, step string) (*testcluster.Cluster, string, string, artstore.File) {
	t.Helper()
	c, tok, admin, temp := tempFile(t)
	c.Server.Ingest().SetFinalizeHook(func(s string) error {
		if s == step {
			return errors.New("stopped at " + s)
		}
		return nil
	})
	if r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil); r.StatusCode < 500 {
		t.Fatalf("finalize stopped at %s: %d", step, r.StatusCode)
	}
	return c, tok, admin, temp
}

// tempFile starts a cluster with no background work and uploads a
// temporary file to finalize; it returns the cluster, a user's token, an
// admin token and the file.
func tempFile(t *testing.T) (*testcluster.Cluster, string, string, artstore.File) {
	t.Helper()
	c := testcluster.Start(t, noBackground)
	tok, admin := c.Account("app", "user"), c.AdminToken()
	return c, tok, admin, mustFile(t, ingestUpload(t, c, tok, "doc.txt", "finalize me"), 201)
}

// catalogDB opens the database of c's catalog, which also holds the state
// of finalizes, for a test to read or change behind the server's back.
func catalogDB(t *testing.T, c *testcluster.Cluster) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(c.DataDir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestFinalizeMeetsChange changes a file while it is being finalized: the
// public API refuses updates and deletes with 409, and a change that
// reaches the element anyway makes the finalize roll back with 409, so that
// the file stays whole on its edit element, changed, rather than the
// permanent copy missing the change.
func TestFinalizeMeetsChange(t *testing.T) {
	c, tok, admin, temp := tempFile(t)
	c.Server.Ingest().SetFinalizeHook(func(step string) error {
		if step != "begun" {
			return nil
		}
		patch := func(path string) *testcluster.Response {
			return c.Do("PATCH", path+temp.FileID, tok, "application/json", strings.NewReader(`{"description":"changed"}`), nil)
		}
		if r := patch("/api/v1/files/"); r.StatusCode != 409 || !strings.Contains(string(r.Body), "FINALIZE_IN_PROGRESS") {
			t.Errorf("update during finalize: %d %s", r.StatusCode, r.Body)
		}
		if r := c.Do("DELETE", "/api/v1/files/"+temp.FileID, tok, "", nil, nil); r.StatusCode != 409 {
			t.Errorf("delete during finalize: %d %s", r.StatusCode, r.Body)
		}
		if r := patch("/elements/edit-01/api/v1/files/"); r.StatusCode != 200 {
			t.Errorf("update on the element during finalize: %d %s", r.StatusCode, r.Body)
		}
		return nil
	})
	r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil)
	if r.StatusCode != 409 || !strings.Contains(string(r.Body), "FILE_CHANGED") {
		t.Fatalf("finalize of a file changed meanwhile: %d %s", r.StatusCode, r.Body)
	}
	c.Server.Ingest().SetFinalizeHook(nil)
	if r := c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("the copy after the rollback: %d", r.StatusCode)
	}
	testenv.Eventually(t, 10*time.Second, "the changed file on its edit element", func() bool {
		r := c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil)
		return r.StatusCode == 200 && strings.Contains(string(r.Body), `"edit-01"`) && strings.Contains(string(r.Body), `"changed"`)
	})
	// Finalized again, the permanent copy has the change.
	fin := mustFile(t, c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil), 200)
	if fin.StorageElementID != "rw-01" || fin.Description != "changed" {
		t.Fatalf("the second finalize: %+v", fin)
	}
	testenv.Eventually(t, 10*time.Second, "the catalog to point at the permanent copy", func() bool {
		got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, tok, "", nil, nil), 200)
		return got.StorageElementID == "rw-01" && got.Description == "changed"
	})
}

// TestFinalizeFindsCopy finalizes a file whose permanent copy another
// process has written already (two ingest processes that share no
// database): the finalize answers 409 and leaves that copy and the
// temporary one as they are, instead of taking the copy for its own and
// removing it.
func TestFinalizeFindsCopy(t *testing.T) {
	c, tok, admin, temp := tempFile(t)
	ct, body := testcluster.Form([][2]string{{"file_id", temp.FileID}, {"retention_policy", "permanent"}}, "doc.txt", "finalize me")
	copied := mustFile(t, c.Do("POST", "/elements/rw-01/api/v1/files", admin, ct, body, nil), 201)
	r := c.Do("POST", "/api/v1/files/"+temp.FileID+"/finalize", tok, "", nil, nil)
	if r.StatusCode != 409 || !strings.Contains(string(r.Body), "FINALIZE_IN_PROGRESS") {
		t.Fatalf("finalize of a file copied elsewhere: %d %s", r.StatusCode, r.Body)
	}
	if got := mustFile(t, c.Do("GET", "/elements/rw-01/api/v1/files/"+temp.FileID, admin, "", nil, nil), 200); got.Version != copied.Version {
		t.Fatalf("the other copy after the refused finalize: %+v", got)
	}
	if got := mustFile(t, c.Do("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil), 200); got.Version != temp.Version {
		t.Fatalf("the temporary copy after the refused finalize: version %d, was %d", got.Version, temp.Version)
	}
	// The finalize is forgotten: nothing is left to settle.
	if r := c.Do("PATCH", "/api/v1/files/"+temp.FileID, tok, "application/json", strings.NewReader(`{"description":"later"}`), nil); r.StatusCode == 409 {
		t.Fatalf("an update after the refused finalize: %d %s", r.StatusCode, r.Body)
	}
}
