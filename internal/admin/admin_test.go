package admin

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

// testConfig is the configuration of services under test: cheap bcrypt,
// and issuer and audience that differ from the defaults, so tests notice
// when a default leaks in where the configured value belongs.
var testConfig = Config{Issuer: "test-issuer", Audience: "test-audience", BcryptCost: bcrypt.MinCost}

// forEachDB runs f once on a fresh SQLite database and once on a fresh
// PostgreSQL schema. The PostgreSQL run skips, loudly, unless
// ARTSTORE_TEST_POSTGRES names a server.
func forEachDB(t *testing.T, f func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, openDB(t, filepath.Join(t.TempDir(), "admin.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		f(t, openDB(t, testenv.Postgres(t)))
	})
}

func openDB(t *testing.T, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openService(t *testing.T, db *sqldb.DB) *Service {
	t.Helper()
	s, err := Open(context.Background(), db, testConfig)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestOpenDefaults(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "admin.db"))
	s, err := Open(context.Background(), db, Config{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Issuer != "artstore" || c.Audience != "artstore" || c.TokenTTL != DefaultTokenTTL {
		t.Errorf("defaults = %+v", c)
	}
	if _, err := Open(context.Background(), db, Config{BcryptCost: 99}); err == nil {
		t.Error("Open accepted bcrypt cost 99")
	}
}

// TestOpenKeepsKey checks that a restart signs with the key it signed with
// before, so tokens issued before the restart stay valid.
func TestOpenKeepsKey(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		s1 := openService(t, db)
		s2 := openService(t, db)
		if k1, k2 := s1.keys.signer().kid, s2.keys.signer().kid; k1 != k2 {
			t.Errorf("second open signs with %s, first with %s", k2, k1)
		}
		if n := len(s2.JWKS().Keys); n != 1 {
			t.Errorf("JWKS has %d keys, want 1", n)
		}
	})
}

// TestOpenRace starts several services on one fresh database at once.
// Whatever keys they end up signing with, each must accept the others'
// tokens.
func TestOpenRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		// The migration is applied first: racing migrations on SQLite are
		// not what this test is about.
		fsys, err := fs.Sub(migrations, "migrations")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx, fsys, versionTable); err != nil {
			t.Fatal(err)
		}
		const n = 3
		var (
			wg       sync.WaitGroup
			services [n]*Service
			openErrs [n]error
		)
		for i := range n {
			wg.Go(func() { services[i], openErrs[i] = Open(ctx, db, testConfig) })
		}
		wg.Wait()
		for _, err := range openErrs {
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
		}
		_, secret, err := services[0].CreateServiceAccount(ctx, "racer", "user")
		if err != nil {
			t.Fatal(err)
		}
		a, err := services[0].ServiceAccountByName(ctx, "racer")
		if err != nil {
			t.Fatal(err)
		}
		for i, issuer := range services {
			tok, err := issuer.IssueToken(ctx, a.ClientID, secret)
			if err != nil {
				t.Fatal(err)
			}
			for j, verifier := range services {
				// Force the reload a real process would do after reloadEvery.
				verifier.keys.mu.Lock()
				verifier.keys.lastTry = verifier.keys.lastTry.Add(-reloadEvery)
				verifier.keys.mu.Unlock()
				if _, err := verifier.Verifier().Authenticate(ctx, tok.AccessToken); err != nil {
					t.Errorf("service %d rejects a token of service %d: %v", j, i, err)
				}
			}
		}
	})
}
