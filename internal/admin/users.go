package admin

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Admin users are the people who run ArtStore. They log in with a user
// name and password, receive an access token and a refresh token, and are
// locked out for a while after repeated failures.
const (
	MinPasswordLen   = 12
	MaxPasswordLen   = 72 // bcrypt reads no further
	passwordHistory  = 5
	MaxFailedLogins  = 5
	LockoutDuration  = 15 * time.Minute
	RefreshTokenTTL  = 7 * 24 * time.Hour
	BootstrapAdmin   = "admin"
	maxUsernameLen   = 64
	maxEmailLen      = 254
	userStatusActive = "active"
)

// User is an admin user. The password hash never leaves the service.
type User struct {
	ID          string        `json:"id"`
	Username    string        `json:"username"`
	Email       string        `json:"email"`
	Role        artstore.Role `json:"role"`
	Status      string        `json:"status"` // active or disabled
	Bootstrap   bool          `json:"bootstrap"`
	LockedUntil *time.Time    `json:"locked_until,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// CheckPassword applies the password policy: 12 to 72 bytes, at least
// three of lower case, upper case, digits and other characters, and not
// the user name.
func CheckPassword(password, username string) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, errs.Code("WEAK_PASSWORD"), errs.Msg(format, args...))
	}
	if !utf8.ValidString(password) {
		return bad("the password is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return bad("the password must have at least %d characters", MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return bad("the password must have at most %d bytes", MaxPasswordLen)
	}
	var lower, upper, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return bad("the password must mix at least three of: lower case, upper case, digits, other characters")
	}
	if username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)) {
		return bad("the password must not contain the user name")
	}
	return nil
}

func validUsername(u string) error {
	if u == "" || len(u) > maxUsernameLen {
		return errs.E(errs.Invalid, errs.Msg("username must be 1 to %d characters", maxUsernameLen))
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '@') {
			return errs.E(errs.Invalid, errs.Msg("username may hold letters, digits and . - _ @ only"))
		}
	}
	return nil
}

func validEmail(e string) error {
	if len(e) > maxEmailLen {
		return errs.E(errs.Invalid, errs.Msg("email is longer than %d bytes", maxEmailLen))
	}
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
		return errs.E(errs.Invalid, errs.Msg("email %q is not an address", errs.Brief(e)))
	}
	return nil
}

const userColumns = `id, username, email, role, status, is_bootstrap, locked_until, created_at, updated_at, password_hash`

func scanUser(row scanner) (User, []byte, error) {
	var (
		u                User
		role             string
		hash             string
		locked           dbTime
		created, updated dbTime
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &role, &u.Status, &u.Bootstrap, &locked, &created, &updated, &hash); err != nil {
		return User{}, nil, err
	}
	u.Role = artstore.Role(role)
	u.CreatedAt, u.UpdatedAt = created.Time, updated.Time
	if !locked.IsZero() {
		t := locked.Time
		u.LockedUntil = &t
	}
	return u, []byte(hash), nil
}

func (s *Service) userBy(ctx context.Context, col, v string) (User, []byte, error) {
	const op = "admin.userBy"
	u, hash, err := scanUser(s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+userColumns+` FROM admin_users WHERE `+col+` = ?`), v))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, nil, errs.E(op, errs.NotExist, errs.Msg("no such admin user"))
	}
	if err != nil {
		return User{}, nil, sqldb.Err(op, err)
	}
	return u, hash, nil
}

// User returns an admin user by id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, _, err := s.userBy(ctx, "id", id)
	return u, err
}

// NewUser describes an admin user to create.
type NewUser struct {
	Username string        `json:"username"`
	Email    string        `json:"email"`
	Password string        `json:"password"`
	Role     artstore.Role `json:"role"`
}

// CreateUser creates an active admin user.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (User, error) {
	return s.createUser(ctx, n, false)
}

func (s *Service) createUser(ctx context.Context, n NewUser, bootstrap bool) (User, error) {
	const op = "admin.CreateUser"
	if err := validUsername(n.Username); err != nil {
		return User{}, errs.E(op, err)
	}
	if err := validEmail(n.Email); err != nil {
		return User{}, errs.E(op, err)
	}
	if !n.Role.ValidUserRole() {
		return User{}, errs.E(op, errs.Invalid, errs.Msg("role must be super_admin, admin or readonly"))
	}
	if err := CheckPassword(n.Password, n.Username); err != nil {
		return User{}, errs.E(op, err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), s.cfg.BcryptCost)
	if err != nil {
		return User{}, errs.E(op, errs.Internal, err)
	}
	now := s.clock()
	u := User{ID: uuid.NewString(), Username: n.Username, Email: n.Email, Role: n.Role, Status: userStatusActive,
		Bootstrap: bootstrap, CreatedAt: now, UpdatedAt: now}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO admin_users (id, username, email, role, status, password_hash, is_bootstrap, created_at, updated_at, password_changed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), u.ID, u.Username, u.Email, string(u.Role), u.Status, string(hash), bootstrap,
			s.timeArg(now), s.timeArg(now), s.timeArg(now)); err != nil {
			return err
		}
		return s.rememberPassword(ctx, tx, u.ID, hash, now)
	})
	if sqldb.IsUniqueViolation(err) {
		return User{}, errs.E(op, errs.Exist, errs.Msg("admin user %q already exists", n.Username))
	}
	if err != nil {
		return User{}, err
	}
	return u, nil
}

func (s *Service) rememberPassword(ctx context.Context, tx *sql.Tx, id string, hash []byte, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO admin_user_passwords (user_id, password_hash, created_at) VALUES (?, ?, ?)`),
		id, string(hash), s.timeArg(at)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM admin_user_passwords WHERE user_id = ? AND created_at NOT IN
		(SELECT created_at FROM admin_user_passwords WHERE user_id = ? ORDER BY created_at DESC LIMIT ?)`), id, id, passwordHistory)
	return err
}

// setPassword checks the policy and the history and stores a password.
func (s *Service) setPassword(ctx context.Context, u User, password string) error {
	const op = "admin.setPassword"
	if err := CheckPassword(password, u.Username); err != nil {
		return errs.E(op, err)
	}
	// The hashing happens before the transaction, which then holds its
	// locks only for the writes.
	old, err := s.recentHashes(ctx, `SELECT password_hash FROM admin_user_passwords WHERE user_id = ? ORDER BY created_at DESC LIMIT ?`, u.ID, passwordHistory)
	if err != nil {
		return sqldb.Err(op, err)
	}
	if matchesAny(old, password) {
		return errs.E(op, errs.Invalid, errs.Code("PASSWORD_REUSED"), errs.Msg("the password must differ from the last %d", passwordHistory))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	now := s.clock()
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE admin_users SET password_hash = ?, password_changed_at = ?, updated_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`),
			string(hash), s.timeArg(now), s.timeArg(now), u.ID); err != nil {
			return err
		}
		// A new password ends every session: the access tokens issued
		// before it no longer pass (see Revoked), nor do refresh tokens.
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM refresh_tokens WHERE user_id = ?`), u.ID); err != nil {
			return err
		}
		return s.rememberPassword(ctx, tx, u.ID, hash, now)
	})
}
