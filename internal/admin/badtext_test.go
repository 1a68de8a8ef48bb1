package admin

import (
	"context"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// TestUnstorableText checks that credentials and fields with NUL bytes or
// invalid UTF-8, which PostgreSQL cannot take as text, are refused as bad
// input on both databases, never turned into a database failure.
func TestUnstorableText(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		s := openService(t, db)
		for _, id := range []string{"sa_\x00abcdef", "sa_\xff\xfeabcd"} {
			if _, err := s.IssueToken(ctx, id, "secret"); !errs.Is(errs.Unauthenticated, err) {
				t.Errorf("IssueToken(%q): %v, want unauthenticated", id, err)
			}
		}
		for _, name := range []string{"ad\x00min", "\xff\xfe"} {
			if _, err := s.Login(ctx, name, "password"); !errs.Is(errs.Unauthenticated, err) {
				t.Errorf("Login(%q): %v, want unauthenticated", name, err)
			}
		}
		if _, _, err := s.CreateAccount(ctx, AccountSpec{Name: "app", Description: "a\x00b", Role: artstore.RoleUser}); !errs.Is(errs.Invalid, err) {
			t.Errorf("CreateAccount with a NUL in the description: %v, want invalid", err)
		}
		if _, err := s.ListAccounts(ctx, AccountFilter{Query: "a\x00b"}); !errs.Is(errs.Invalid, err) {
			t.Errorf("ListAccounts with a NUL in q: %v, want invalid", err)
		}
		if _, err := s.ListUsers(ctx, UserFilter{Query: "\xff"}); !errs.Is(errs.Invalid, err) {
			t.Errorf("ListUsers with invalid UTF-8 in q: %v, want invalid", err)
		}
		// Ids from URLs reach the shared lookups.
		for _, id := range []string{"a\x00b", "\xff"} {
			if _, err := s.Account(ctx, id); errs.Is(errs.Unavailable, err) || errs.Is(errs.Internal, err) || err == nil {
				t.Errorf("Account(%q): %v, want a caller's error", id, err)
			}
			if _, err := s.User(ctx, id); errs.Is(errs.Unavailable, err) || errs.Is(errs.Internal, err) || err == nil {
				t.Errorf("User(%q): %v, want a caller's error", id, err)
			}
		}
	})
}
