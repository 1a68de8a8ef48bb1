package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Session is what a login or a refresh returns. The refresh token is an
// opaque random string, not a JWT, so it can never pass as an access
// token; only its hash is stored.
type Session struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	// Username names the user the session is for, for the audit log.
	Username string `json:"-"`
}

func errBadLogin(op string) error {
	return errs.E(op, errs.Unauthenticated, errs.Msg("invalid username or password"))
}

// Login checks a user's password. Five failures in a row lock the account
// for 15 minutes (errs.Locked), even for the right password.
func (s *Service) Login(ctx context.Context, username, password string) (Session, error) {
	const op = "admin.Login"
	// A name no user can have is not looked up (nor can it reach the
	// database as text PostgreSQL refuses), but costs the same.
	var (
		u    User
		hash []byte
		err  = errs.E(errs.NotExist)
	)
	if validUsername(username) == nil {
		u, hash, err = s.userBy(ctx, "username", username)
	}
	if errs.Is(errs.NotExist, err) {
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password)) // same time as a wrong password
		return Session{}, errBadLogin(op)
	}
	if err != nil {
		return Session{}, errs.E(op, err)
	}
	if err := s.checkPassword(ctx, op, u, hash, password, errBadLogin(op)); err != nil {
		return Session{}, err
	}
	if u.Status != userStatusActive {
		return Session{}, errBadLogin(op)
	}
	return s.newSession(ctx, u)
}

// checkPassword compares password with u's hash, returns wrong when it
// does not match, and counts the outcome toward the lockout. Each outcome
// is one statement on the user's row, so that every failure of attempts
// made at once counts; and once the account is locked every attempt gets
// errs.Locked, the right password too, so that no answer tells which of
// the attempts in flight was right.
func (s *Service) checkPassword(ctx context.Context, op string, u User, hash []byte, password string, wrong error) error {
	now := s.clock()
	locked := func(until dbTime) error {
		if until.IsZero() || !now.Before(until.Time) {
			return nil
		}
		return errs.E(op, errs.Locked, errs.Code("ACCOUNT_LOCKED"),
			errs.Msg("too many failed logins; the account is locked until %s", until.Format(time.RFC3339)))
	}
	if u.LockedUntil != nil {
		if err := locked(dbTime{*u.LockedUntil}); err != nil {
			return err
		}
	}
	ok := len(password) <= MaxPasswordLen && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	var (
		stmt string
		args []any
		at   = s.timeArg(now)
	)
	if ok {
		// Clears the failures and a lock that has run out, not one that
		// another attempt set meanwhile.
		stmt = `UPDATE admin_users SET
			failed_logins = CASE WHEN locked_until > ? THEN failed_logins ELSE 0 END,
			locked_until = CASE WHEN locked_until > ? THEN locked_until ELSE NULL END
			WHERE id = ? RETURNING locked_until`
		args = []any{at, at, u.ID}
	} else {
		stmt = `UPDATE admin_users SET
			failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END,
			locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
			WHERE id = ? RETURNING locked_until`
		args = []any{MaxFailedLogins, MaxFailedLogins, s.timeArg(now.Add(LockoutDuration)), u.ID}
	}
	var until dbTime
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(stmt), args...).Scan(&until); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return wrong // deleted meanwhile
		}
		return sqldb.Err(op, err)
	}
	if err := locked(until); err != nil {
		return err
	}
	if !ok {
		return wrong
	}
	return nil
}

// newSession issues an access token and a refresh token for u.
func (s *Service) newSession(ctx context.Context, u User) (Session, error) {
	const op = "admin.newSession"
	access, err := s.signClaims(ctx, u.ID, auth.Claims{Role: u.Role, Name: u.Username, Kind: "user", RateLimit: MaxRateLimit})
	if err != nil {
		return Session{}, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	refresh := "rt_" + base64.RawURLEncoding.EncodeToString(b)
	now := s.clock()
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`),
		hashToken(refresh), u.ID, s.timeArg(now.Add(RefreshTokenTTL)), s.timeArg(now)); err != nil {
		return Session{}, sqldb.Err(op, err)
	}
	return Session{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.cfg.TokenTTL.Seconds()),
		RefreshToken: refresh, RefreshExpiresIn: int64(RefreshTokenTTL.Seconds()), Username: u.Username}, nil
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Refresh exchanges a refresh token for a new session; the old refresh
// token is spent.
func (s *Service) Refresh(ctx context.Context, refresh string) (Session, error) {
	const op = "admin.Refresh"
	bad := errs.E(op, errs.Unauthenticated, errs.Msg("invalid or expired refresh token"))
	// Spending the token deletes it, in the statement that reads it: of
	// two refreshes at once, one gets the row. An expired token goes too,
	// as the hourly purge would take it.
	var userID string
	var expires dbTime
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`DELETE FROM refresh_tokens WHERE token_hash = ? RETURNING user_id, expires_at`), hashToken(refresh)).
		Scan(&userID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, bad // unknown, or spent already
	}
	if err != nil {
		return Session{}, sqldb.Err(op, err)
	}
	if !s.clock().Before(expires.Time) {
		return Session{}, bad
	}
	u, err := s.User(ctx, userID)
	if err != nil || u.Status != userStatusActive {
		return Session{}, bad
	}
	return s.newSession(ctx, u)
}

// Logout revokes a refresh token (when given) and the access token p
// presented, server-side.
func (s *Service) Logout(ctx context.Context, p artstore.Principal, refresh string) error {
	const op = "admin.Logout"
	now := s.clock()
	if refresh != "" {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM refresh_tokens WHERE token_hash = ? AND user_id = ?`),
			hashToken(refresh), p.Subject); err != nil {
			return sqldb.Err(op, err)
		}
	}
	if p.TokenID != "" {
		_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING`),
			p.TokenID, s.timeArg(now.Add(s.cfg.TokenTTL+retireLeeway)))
		if err != nil {
			return sqldb.Err(op, err)
		}
	}
	return nil
}

// PurgeTokens deletes the rows of tokens that can no longer be used:
// refresh tokens that expired (a spent one is deleted when it is spent)
// and revocations of access tokens that have since expired. It returns how
// many rows it deleted.
func (s *Service) PurgeTokens(ctx context.Context) (int64, error) {
	const op = "admin.PurgeTokens"
	now := s.timeArg(s.clock())
	var purged int64
	for _, stmt := range []string{
		`DELETE FROM refresh_tokens WHERE expires_at <= ?`,
		`DELETE FROM revoked_tokens WHERE expires_at <= ?`,
	} {
		res, err := s.db.ExecContext(ctx, s.db.Rebind(stmt), now)
		if err != nil {
			return purged, sqldb.Err(op, err)
		}
		n, _ := res.RowsAffected()
		purged += n
	}
	return purged, nil
}

// Revoked reports whether an admin user's access token no longer holds: it
// was revoked by a logout, the user is gone or disabled, has another role
// now, or changed their password after the token was issued (which ends
// every session). It implements the verifier's revocation check.
func (s *Service) Revoked(ctx context.Context, p artstore.Principal) (bool, error) {
	if p.Kind != "user" {
		return false, nil
	}
	var (
		status, role string
		changed      dbTime
		revoked      int
	)
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT u.status, u.role, u.password_changed_at,
		(SELECT COUNT(*) FROM revoked_tokens WHERE jti = ?) FROM admin_users u WHERE u.id = ?`), p.TokenID, p.Subject).
		Scan(&status, &role, &changed, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, sqldb.Err("admin.Revoked", err)
	}
	// Tokens carry their issue time in whole seconds.
	return revoked > 0 || status != userStatusActive || artstore.Role(role) != p.Role ||
		p.IssuedAt.Before(changed.Truncate(time.Second)), nil
}

// ChangePassword changes the caller's own password after checking the
// current one.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next string) error {
	const op = "admin.ChangePassword"
	u, hash, err := s.userBy(ctx, "id", userID)
	if err != nil {
		return errs.E(op, err)
	}
	// A wrong current password counts toward the lockout like a failed
	// login: a stolen access token must not be a way to guess it.
	if err := s.checkPassword(ctx, op, u, hash, current, errs.E(op, errs.Permission, errs.Msg("the current password is wrong"))); err != nil {
		return err
	}
	return s.setPassword(ctx, u, next)
}

// BootstrapAdminFile holds the bootstrap administrator's credentials.
const BootstrapAdminFile = "bootstrap-admin.json"

// BootstrapUser creates, on the first start, the bootstrap system
// administrator (role super_admin) with a generated password, written with
// the user name to dataDir/bootstrap-admin.json (0600). It reports whether
// it created it.
func (s *Service) BootstrapUser(ctx context.Context, dataDir string) (bool, error) {
	const op = "admin.BootstrapUser"
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admin_users WHERE is_bootstrap = `+s.trueLit()).Scan(&n); err != nil {
		return false, sqldb.Err(op, err)
	}
	if n > 0 {
		return false, nil
	}
	b := make([]byte, 18)
	rand.Read(b)
	password := "Aa1-" + base64.RawURLEncoding.EncodeToString(b) // always meets the policy
	u, err := s.createUser(ctx, NewUser{Username: BootstrapAdmin, Email: "admin@localhost", Password: password, Role: artstore.RoleSuperAdmin}, true)
	if errs.Is(errs.Exist, err) {
		return false, nil // another process won
	}
	if err != nil {
		return false, errs.E(op, err)
	}
	body, _ := json.MarshalIndent(map[string]string{"username": u.Username, "password": password}, "", "  ")
	if err := WriteFileDurably(filepath.Join(dataDir, BootstrapAdminFile), append(body, '\n'), 0o600); err != nil {
		s.db.ExecContext(context.WithoutCancel(ctx), s.db.Rebind(`DELETE FROM admin_users WHERE id = ?`), u.ID)
		return false, errs.E(op, err)
	}
	return true, nil
}

func (s *Service) trueLit() string {
	if s.db.Dialect == "postgres" {
		return "TRUE"
	}
	return "1"
}
