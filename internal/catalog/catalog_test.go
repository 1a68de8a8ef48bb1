package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// dialects runs fn on a fresh SQLite database and on a fresh PostgreSQL
// schema. The PostgreSQL run skips, loudly, unless ARTSTORE_TEST_POSTGRES
// names a server.
func dialects(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openDB(t, filepath.Join(t.TempDir(), "catalog.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, openDB(t, testenv.Postgres(t))) })
}

func openDB(t testing.TB, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func open(t testing.TB, db *sqldb.DB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

var ctx = context.Background()

// t0 is the base of the times in tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// file returns a file on element at version, with a few fields set.
func file(id, element string, version int64) *artstore.File {
	return &artstore.File{
		FileID:           id,
		OriginalFilename: id + ".txt",
		StorageFilename:  id,
		StoragePath:      "2025/03/01/12/",
		Size:             100,
		ContentType:      "text/plain",
		Checksum:         "00",
		UploadedBy:       "alice",
		UploadedAt:       t0,
		UpdatedAt:        t0,
		Tags:             []string{},
		Metadata:         map[string]any{},
		RetentionPolicy:  artstore.Permanent,
		Version:          version,
		StorageElementID: element,
	}
}

func created(seq int64, f *artstore.File) artstore.Change {
	return artstore.Change{Seq: seq, Type: artstore.FileCreated, FileID: f.FileID, Version: f.Version, At: t0, File: f}
}

func updated(seq int64, f *artstore.File) artstore.Change {
	return artstore.Change{Seq: seq, Type: artstore.FileUpdated, FileID: f.FileID, Version: f.Version, At: t0, File: f}
}

func deleted(seq int64, id string, version int64) artstore.Change {
	return artstore.Change{Seq: seq, Type: artstore.FileDeleted, FileID: id, Version: version, At: t0}
}

// page is a journal page of journal j ending at the last entry's seq.
func page(j string, items ...artstore.Change) artstore.Changes {
	ch := artstore.Changes{Items: items, JournalID: j}
	if len(items) > 0 {
		ch.LastSeq = items[len(items)-1].Seq
	}
	return ch
}

func mustApply(t *testing.T, c *catalog.Catalog, element string, ch artstore.Changes) {
	t.Helper()
	if err := c.Apply(ctx, element, ch); err != nil {
		t.Fatalf("Apply(%s): %v", element, err)
	}
}

// where says where the catalog places a file, as "element@version", or
// "-" when the file is not live.
func where(t *testing.T, c *catalog.Catalog, id string) string {
	t.Helper()
	f, err := c.Get(ctx, id)
	if errs.Is(errs.NotExist, err) {
		return "-"
	}
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return fmt.Sprintf("%s@%d", f.StorageElementID, f.Version)
}

// filesOn lists what Files reports for element, as "id@version".
func filesOn(t *testing.T, c *catalog.Catalog, element string) []string {
	t.Helper()
	out := []string{}
	err := c.Files(ctx, element, func(id string, v int64) error {
		out = append(out, fmt.Sprintf("%s@%d", id, v))
		return nil
	})
	if err != nil {
		t.Fatalf("Files(%s): %v", element, err)
	}
	return out
}

func TestOpenTwice(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		mustApply(t, c, "se-1", page("j1", created(1, file("a", "se-1", 1))))
		c = open(t, db) // migrations already applied
		if got := where(t, c, "a"); got != "se-1@1" {
			t.Errorf("after reopening, a is %s", got)
		}
	})
}

func TestGetReturnsTheFile(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		c := open(t, db)
		exp := t0.Add(48 * time.Hour)
		f := file("a", "", 3)
		f.Description = "Квартальный отчёт"
		f.Tags = []string{"x", "y"}
		f.Metadata = map[string]any{"n": 1.5, "s": "v", "b": true}
		f.RetentionPolicy = artstore.Temporary
		f.ExpiresAt = &exp
		mustApply(t, c, "se-1", page("j1", created(1, f)))
		got, err := c.Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		// The catalog records where it placed the file.
		want := *f
		want.StorageElementID = "se-1"
		if got.StorageElementID != "se-1" || got.Version != 3 || got.Description != want.Description ||
			!slices.Equal(got.Tags, want.Tags) || got.Metadata["n"] != json.Number("1.5") || !got.ExpiresAt.Equal(exp) ||
			!got.UploadedAt.Equal(t0) {
			t.Errorf("Get = %+v, want %+v", got, want)
		}
		if _, err := c.Get(ctx, "nope"); !errs.Is(errs.NotExist, err) {
			t.Errorf("Get(nope) = %v, want NotExist", err)
		}
	})
}
