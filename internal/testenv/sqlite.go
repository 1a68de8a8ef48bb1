package testenv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/artstore/artstore/internal/sqldb"
)

// SQLite opens a SQLite database named name in t's temporary directory,
// closed when t ends.
func SQLite(t testing.TB, name string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
