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
// element is out of reach) and so stays in the catalog.
func TestWalksPastStuckFiles(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Open(ctx, testenv.SQLite(t, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	const files = 7
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
	c.batch = 2
	rep, err := c.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Examined != files || len(rep.Errors) != files || len(rep.Deleted) != 0 {
		t.Fatalf("run examined %d, errors %d, deleted %d; want %d examined, all failing", rep.Examined, len(rep.Errors), len(rep.Deleted), files)
	}
}
