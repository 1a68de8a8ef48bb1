package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

func TestCreateServiceAccount(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openService(t, db)
		cases := []struct {
			name     string
			role     artstore.Role
			wantName string
			kind     errs.Kind // Other means success
		}{
			{"billing", artstore.RoleUser, "billing", errs.Other},
			{"  trimmed \t", artstore.RoleAuditor, "trimmed", errs.Other},
			{"Ünïcødé name", artstore.RoleReadonly, "Ünïcødé name", errs.Other},
			{strings.Repeat("é", MaxNameLen), artstore.RoleAdmin, strings.Repeat("é", MaxNameLen), errs.Other},
			{"billing", artstore.RoleAdmin, "", errs.Exist},
			{" billing ", artstore.RoleUser, "", errs.Exist},
			{"", artstore.RoleUser, "", errs.Invalid},
			{"   ", artstore.RoleUser, "", errs.Invalid},
			{strings.Repeat("x", MaxNameLen+1), artstore.RoleUser, "", errs.Invalid},
			{"bell\a", artstore.RoleUser, "", errs.Invalid},
			{"new\nline", artstore.RoleUser, "", errs.Invalid},
			{"bad\xffutf8", artstore.RoleUser, "", errs.Invalid},
			{"norole", "", "", errs.Invalid},
			{"superuser", "root", "", errs.Invalid},
			{"super_admin", "super_admin", "", errs.Invalid}, // an admin-user role, not an SA role
		}
		for _, c := range cases {
			a, secret, err := s.CreateServiceAccount(ctx, c.name, c.role)
			if c.kind != errs.Other {
				if !errs.Is(c.kind, err) {
					t.Errorf("Create(%q, %q): err = %v, want kind %v", c.name, c.role, err, c.kind)
				}
				continue
			}
			if err != nil {
				t.Errorf("Create(%q, %q): %v", c.name, c.role, err)
				continue
			}
			if a.Name != c.wantName || a.Role != c.role || a.Status != StatusActive {
				t.Errorf("Create(%q): got %+v", c.name, a)
			}
			if !strings.HasPrefix(a.ClientID, "sa_") || len(a.ClientID) != 3+32 {
				t.Errorf("client id %q", a.ClientID)
			}
			if len(secret) != 43 {
				t.Errorf("secret has %d characters, want 43", len(secret))
			}
			if a.CreatedAt.IsZero() || time.Since(a.CreatedAt) > time.Minute {
				t.Errorf("created at %v", a.CreatedAt)
			}

			got, hash, err := s.accountBy(ctx, "client_id", a.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			same := got.ID == a.ID && got.Name == a.Name && got.Description == a.Description && got.Role == a.Role &&
				got.ClientID == a.ClientID && got.Status == a.Status && got.RateLimit == a.RateLimit &&
				got.SecretExpiresAt != nil && a.SecretExpiresAt != nil && got.SecretExpiresAt.Equal(*a.SecretExpiresAt) &&
				got.UpdatedAt.Equal(a.UpdatedAt) && got.DeletedAt == nil
			if !got.CreatedAt.Equal(a.CreatedAt) || !same {
				t.Errorf("read back %+v, want %+v", got, a)
			}
			if strings.Contains(string(hash), secret) || bcrypt.CompareHashAndPassword(hash, []byte(secret)) != nil {
				t.Errorf("stored hash does not hash the secret")
			}
		}
	})
}

func TestIssueToken(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := openService(t, db)
		a, secret, err := s.CreateServiceAccount(ctx, "ingest-client", artstore.RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueToken(ctx, a.ClientID, secret)
		if err != nil {
			t.Fatalf("IssueToken: %v", err)
		}
		if tok.TokenType != "Bearer" || tok.ExpiresIn != int64(DefaultTokenTTL.Seconds()) {
			t.Errorf("token = %+v", tok)
		}
		p, err := s.Verifier().Authenticate(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("own token rejected: %v", err)
		}
		want := artstore.Principal{Subject: a.ID, ClientID: a.ClientID, Name: a.Name, Role: artstore.RoleUser, RateLimit: DefaultRateLimit,
			TokenID: p.TokenID, IssuedAt: time.Now().UTC().Truncate(time.Second)}
		if d := p.IssuedAt.Sub(want.IssuedAt); d >= -2*time.Second && d <= 0 {
			want.IssuedAt = p.IssuedAt
		}
		if p != want {
			t.Errorf("principal = %+v, want %+v", p, want)
		}

		other, otherSecret, err := s.CreateServiceAccount(ctx, "disabled-client", artstore.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE service_accounts SET status = ? WHERE id = ?`), "suspended", other.ID); err != nil {
			t.Fatal(err)
		}
		wrong := secret[:42] + "A"
		if wrong == secret {
			wrong = secret[:42] + "B"
		}
		bad := []struct{ name, id, secret string }{
			{"wrong secret", a.ClientID, wrong},
			{"empty secret", a.ClientID, ""},
			{"another account's secret", a.ClientID, otherSecret},
			{"secret with suffix", a.ClientID, secret + "x"},
			{"over-long secret", a.ClientID, secret + strings.Repeat("x", 100)},
			{"unknown client", "sa_00000000000000000000000000000000", secret},
			{"malformed client", "nobody", secret},
			{"empty client", "", secret},
			{"suspended account", other.ClientID, otherSecret},
		}
		for _, c := range bad {
			_, err := s.IssueToken(ctx, c.id, c.secret)
			if !errs.Is(errs.Unauthenticated, err) {
				t.Errorf("%s: err = %v, want unauthenticated", c.name, err)
			}
			if err != nil && strings.Contains(err.Error(), c.secret) && c.secret != "" {
				t.Errorf("%s: error echoes the secret", c.name)
			}
		}
	})
}
