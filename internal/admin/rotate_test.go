package admin

import (
	"context"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
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

// TestPurgeTokens checks that a spent refresh token's row goes at once,
// that the purge deletes expired refresh tokens and revocations of expired
// access tokens, and that it keeps the rest: a live session still
// refreshes, a spent token does not, and a revoked token stays revoked.
func TestPurgeTokens(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		s := openService(t, db)
		if _, err := s.CreateUser(ctx, NewUser{Username: "ops", Email: "ops@example.com", Password: "Correct-Horse-9", Role: artstore.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		login := func() (Session, artstore.Principal) {
			t.Helper()
			sess, err := s.Login(ctx, "ops", "Correct-Horse-9")
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Verifier().Authenticate(ctx, sess.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			return sess, p
		}
		spent, _ := login()
		if _, err := s.Refresh(ctx, spent.RefreshToken); err != nil {
			t.Fatal(err)
		}
		live, _ := login()
		_, out := login()
		if err := s.Logout(ctx, out, ""); err != nil {
			t.Fatal(err)
		}
		count := func(table string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// The spent refresh token is gone already; the live ones (the live
		// session's, the refreshed session's, the logged-out session's)
		// and the revocation stay.
		if _, err := s.Refresh(ctx, spent.RefreshToken); !errs.Is(errs.Unauthenticated, err) {
			t.Fatalf("a spent refresh token refreshed again: %v", err)
		}
		if n, err := s.PurgeTokens(ctx); n != 0 || err != nil {
			t.Fatalf("purge now: %d rows, %v; want none", n, err)
		}
		if r, v := count("refresh_tokens"), count("revoked_tokens"); r != 3 || v != 1 {
			t.Fatalf("after the purge: %d refresh tokens and %d revocations, want 3 and 1", r, v)
		}
		if revoked, err := s.Revoked(ctx, out); !revoked || err != nil {
			t.Fatalf("the logged-out token is no longer revoked: %v %v", revoked, err)
		}
		if _, err := s.Refresh(ctx, live.RefreshToken); err != nil {
			t.Fatalf("a live session no longer refreshes: %v", err)
		}
		// Past the access token's lifetime the revocation goes; past the
		// refresh tokens' lifetime, every one.
		s.now = func() time.Time { return time.Now().Add(s.cfg.TokenTTL + retireLeeway + time.Minute) }
		if n, err := s.PurgeTokens(ctx); n != 1 || err != nil {
			t.Fatalf("purge after the access token lifetime: %d rows, %v; want 1 (the revocation)", n, err)
		}
		s.now = func() time.Time { return time.Now().Add(RefreshTokenTTL + time.Minute) }
		if n, err := s.PurgeTokens(ctx); n != 3 || err != nil {
			t.Fatalf("purge after the refresh token lifetime: %d rows, %v; want 3", n, err)
		}
		if r, v := count("refresh_tokens"), count("revoked_tokens"); r != 0 || v != 0 {
			t.Fatalf("%d refresh tokens and %d revocations left, want none", r, v)
		}
	})
}
