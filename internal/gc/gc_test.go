package gc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/testenv"
)

// TestWalksPastStuckFiles checks that a run examines every expired file,
// in batches, even when a whole batch of them cannot be purged (their
// element is out of reach) and so stays in the catalog; its report counts
// every failure and names the first MaxListed.
func TestWalksPastStuckFiles(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Open(ctx, testenv.SQLite(t, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	const files = artstore.MaxListed + 7
	for i := range files {
		exp := now.Add(-time.Duration(files-i) * time.Hour)
		err := cat.Put(ctx, &artstore.File{
			FileID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), OriginalFilename: "f.txt",
			StorageElementID: "edit-gone", RetentionPolicy: artstore.Temporary, ExpiresAt: &exp,
			UploadedAt: now.Add(-48 * time.Hour), Version: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := New(cat, fleet.New(time.Second), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	c.batch = 20
	rep, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Examined != files || rep.ErrorsCount != files || len(rep.Errors) != artstore.MaxListed || rep.DeletedCount != 0 || rep.Duration <= 0 {
		t.Fatalf("run examined %d, errors %d (%d named), deleted %d, took %vs; want %d examined, all failing",
			rep.Examined, rep.ErrorsCount, len(rep.Errors), rep.DeletedCount, rep.Duration, files)
	}
}
