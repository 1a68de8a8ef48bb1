package admin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/sqldb"
)

func TestBootstrap(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openService(t, db)
		dir := filepath.Join(t.TempDir(), "data")

		id, created, err := s.Bootstrap(ctx, dir)
		if err != nil || !created {
			t.Fatalf("first Bootstrap = %q, %v, %v; want created", id, created, err)
		}
		path := filepath.Join(dir, BootstrapFile)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var creds BootstrapCredentials
		if err := json.Unmarshal(data, &creds); err != nil {
			t.Fatalf("credentials file: %v", err)
		}
		if creds.ClientID != id || creds.ClientSecret == "" {
			t.Fatalf("credentials file holds %q, Bootstrap returned %q", creds.ClientID, id)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("data directory holds %d entries, want only the credentials file", len(entries))
		}

		// The credentials work, and they are an admin's.
		tok, err := s.IssueToken(ctx, creds.ClientID, creds.ClientSecret)
		if err != nil {
			t.Fatalf("bootstrap credentials rejected: %v", err)
		}
		p, err := s.Verifier().Authenticate(ctx, tok.AccessToken)
		if err != nil || p.Role != artstore.RoleAdmin {
			t.Fatalf("bootstrap principal %+v, %v", p, err)
		}

		// A restart, by a new service on the same database, does nothing.
		s2 := openService(t, db)
		id2, created, err := s2.Bootstrap(ctx, dir)
		if err != nil || created || id2 != id {
			t.Fatalf("second Bootstrap = %q, %v, %v; want %q, not created", id2, created, err, id)
		}
		after, err := os.ReadFile(path)
		if err != nil || string(after) != string(data) {
			t.Errorf("second Bootstrap changed the credentials file")
		}

		// Without the file, still nothing: the secret is not regenerated.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		id3, created, err := s2.Bootstrap(ctx, dir)
		if err != nil || created || id3 != id {
			t.Fatalf("Bootstrap after the file was removed = %q, %v, %v", id3, created, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("Bootstrap recreated the credentials file")
		}

		var n int
		if err := db.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM service_accounts WHERE name = ?`), BootstrapAccount).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d bootstrap accounts, want 1", n)
		}
	})
}

// TestBootstrapUnwritable checks that when the file cannot be written the
// account is not left behind, so a later start can bootstrap.
func TestBootstrapUnwritable(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "admin.db"))
	s := openService(t, db)
	ctx := context.Background()

	// A regular file where the directory should be makes the write fail,
	// even for root, which permissions would not stop.
	blocker := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Bootstrap(ctx, blocker); err == nil {
		t.Fatal("Bootstrap succeeded without a data directory")
	}
	if _, err := s.ServiceAccountByName(ctx, BootstrapAccount); err == nil {
		t.Fatal("Bootstrap left an account whose secret nobody has")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, created, err := s.Bootstrap(ctx, dir); err != nil || !created {
		t.Fatalf("Bootstrap after fixing the directory: %v, %v", created, err)
	}
}
