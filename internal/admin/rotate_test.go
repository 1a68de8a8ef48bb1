package admin

import (
	"context"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/golang-jwt/jwt/v5"
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

// TestLoginSignsWithRotatedKey checks that an admin process that only
// handles logins signs with the key another process rotated to, once its
// keys are due for a reread, as token issuance does.
func TestLoginSignsWithRotatedKey(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		s1, s2 := openService(t, db), openService(t, db)
		if _, err := s2.CreateUser(ctx, NewUser{Username: "ops", Email: "ops@example.com", Password: "Correct-Horse-9", Role: artstore.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		if _, err := s1.RotateKeys(ctx); err != nil {
			t.Fatal(err)
		}
		s2.keys.mu.Lock()
		s2.keys.lastTry = time.Time{} // due for a reread
		s2.keys.mu.Unlock()
		sess, err := s2.Login(ctx, "ops", "Correct-Horse-9")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := jwt.NewParser().ParseUnverified(sess.AccessToken, &jwt.RegisteredClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if kid, want := tok.Header["kid"], s1.keys.signer().kid; kid != want {
			t.Errorf("login signed with %v, want the rotated key %s", kid, want)
		}
	})
}
