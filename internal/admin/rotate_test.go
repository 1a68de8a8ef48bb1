package admin

import (
	"context"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/sqldb"
)

// TestRotateIfDue: the schedule rotates a key older than the rotation age
// and leaves a younger one; the replaced key stays published.
func TestRotateIfDue(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		cfg := testConfig
		cfg.KeyRotation = time.Hour
		s, err := Open(ctx, db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		first := s.keys.signer().kid
		if did, err := s.RotateIfDue(ctx); did || err != nil {
			t.Fatalf("a fresh key was rotated: %v %v", did, err)
		}
		s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if did, err := s.RotateIfDue(ctx); !did || err != nil {
			t.Fatalf("an old key was not rotated: %v %v", did, err)
		}
		if cur := s.keys.signer().kid; cur == first {
			t.Fatal("the same key still signs")
		}
		if _, err := s.PublicKey(first); err != nil {
			t.Fatalf("the replaced key left the JWKS before its tokens expired: %v", err)
		}
	})
}
