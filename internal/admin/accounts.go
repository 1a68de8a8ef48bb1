package admin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
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

// AccountStatus is the state of a service account. Only an active
// account obtains tokens.
type AccountStatus string

// The account states. IssueToken refuses every state but active.
const (
	StatusActive    AccountStatus = "active"
	StatusSuspended AccountStatus = "suspended"
	StatusDeleted   AccountStatus = "deleted"
)

// Valid tells whether st is a known state.
func (st AccountStatus) Valid() bool {
	return st == StatusActive || st == StatusSuspended || st == StatusDeleted
}

// ServiceAccount is a client application's identity. Its secret is never
// part of it: only a bcrypt hash is stored, and the secret itself is
// returned once, when the account is created.
type ServiceAccount struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Role        artstore.Role `json:"role"`
	ClientID    string        `json:"client_id"`
	Status      AccountStatus `json:"status"`
	// RateLimit is the requests per minute the account may make.
	RateLimit int `json:"rate_limit"`
	// SecretExpiresAt is when the current secret stops working (nil:
	// never); SecretExpiresInDays is the whole days left, negative once
	// it has expired.
	SecretExpiresAt     *time.Time `json:"secret_expires_at"`
	SecretExpiresInDays *int       `json:"secret_expires_in_days,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	DeletedAt           *time.Time `json:"deleted_at,omitempty"`
}

// MaxNameLen is the longest service account name, in characters.
const MaxNameLen = 100

// clientIDPrefix marks client ids, so they are recognisable in
// configuration files and logs and cannot be confused with secrets.
const clientIDPrefix = "sa_"

// CreateServiceAccount creates an active service account with the default
// rate limit and returns it with its client secret, which is not stored and
// cannot be shown again.
func (s *Service) CreateServiceAccount(ctx context.Context, name string, role artstore.Role) (ServiceAccount, string, error) {
	return s.CreateAccount(ctx, AccountSpec{Name: name, Role: role})
}

// AccountSpec describes a service account to create.
type AccountSpec struct {
	Name        string
	Description string
	Role        artstore.Role
	RateLimit   int    // requests per minute; 0: DefaultRateLimit
	ClientID    string // empty: a random one (set only for the bootstrap account)
	// NeverExpires keeps the secret from expiring: the bootstrap account
	// is the way back in, and must not lock the system out by itself.
	NeverExpires bool
}

// CreateAccount creates an active service account and returns it with its
// client secret, which is not stored and cannot be shown again. The name
// is trimmed of surrounding space; it must then be 1 to 100 printable
// characters and not already taken (errs.Exist).
func (s *Service) CreateAccount(ctx context.Context, spec AccountSpec) (ServiceAccount, string, error) {
	const op = "admin.CreateAccount"
	name, err := validName(spec.Name)
	if err != nil {
		return ServiceAccount{}, "", errs.E(op, errs.Invalid, err)
	}
	if err := validDescription(spec.Description); err != nil {
		return ServiceAccount{}, "", errs.E(op, err)
	}
	if !spec.Role.Valid() {
		return ServiceAccount{}, "", errs.E(op, errs.Invalid, errs.Msg("unknown role %q", errs.Brief(string(spec.Role))))
	}
	if spec.RateLimit == 0 {
		spec.RateLimit = DefaultRateLimit
	}
	if err := validRateLimit(spec.RateLimit); err != nil {
		return ServiceAccount{}, "", errs.E(op, err)
	}
	clientID := spec.ClientID
	if clientID == "" {
		clientID = newClientID()
	} else if err := ValidClientID(clientID); err != nil {
		return ServiceAccount{}, "", errs.E(op, err)
	}
	secret := newSecret()
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), s.cfg.BcryptCost)
	if err != nil {
		return ServiceAccount{}, "", errs.E(op, errs.Internal, err)
	}
	now := s.clock()
	a := ServiceAccount{
		ID:          uuid.NewString(),
		Name:        name,
		Description: spec.Description,
		Role:        spec.Role,
		ClientID:    clientID,
		Status:      StatusActive,
		RateLimit:   spec.RateLimit,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	var expires any
	if s.cfg.SecretTTL > 0 && !spec.NeverExpires {
		t := now.Add(s.cfg.SecretTTL)
		a.SecretExpiresAt, expires = &t, s.timeArg(t)
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO service_accounts
			(id, name, description, role, client_id, secret_hash, status, created_at, updated_at, rate_limit, secret_expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, a.Name, a.Description, string(a.Role), a.ClientID, string(hash), string(a.Status),
			s.timeArg(a.CreatedAt), s.timeArg(a.UpdatedAt), a.RateLimit, expires); err != nil {
			return err
		}
		return s.rememberSecret(ctx, tx, a.ID, hash, now)
	})
	if err != nil {
		if sqldb.IsUniqueViolation(err) {
			return ServiceAccount{}, "", errs.E(op, errs.Exist, errs.Msg("a service account named %q (or with that client id) already exists", name))
		}
		return ServiceAccount{}, "", err
	}
	return s.withTimeLeft(a), secret, nil
}

// validName trims name and checks it.
func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errs.Msg("name is empty")
	}
	if !utf8.ValidString(name) {
		return "", errs.Msg("name is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return "", errs.Msg("name is %d characters long; the limit is %d", n, MaxNameLen)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", errs.Msg("name contains the unprintable character %U", r)
		}
	}
	return name, nil
}

// newClientID returns a random client id: 128 bits, hex-encoded.
func newClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return clientIDPrefix + hex.EncodeToString(b)
}

// newSecret returns a random client secret: 256 bits, base64url-encoded
// (43 characters, within bcrypt's 72-byte limit).
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// accountColumns are the columns scanned by scanAccount, in order.
const accountColumns = `id, name, description, role, client_id, status, created_at, updated_at, secret_hash, rate_limit, secret_expires_at, deleted_at`

type scanner interface{ Scan(dest ...any) error }

// scanAccount reads a row of accountColumns and returns the account and
// its secret hash.
func scanAccount(row scanner) (ServiceAccount, []byte, error) {
	var (
		a                ServiceAccount
		role, status     string
		hash             string
		created, updated dbTime
		expires, deleted dbTime
	)
	err := row.Scan(&a.ID, &a.Name, &a.Description, &role, &a.ClientID, &status, &created, &updated, &hash,
		&a.RateLimit, &expires, &deleted)
	if err != nil {
		return ServiceAccount{}, nil, err
	}
	a.Role, a.Status = artstore.Role(role), AccountStatus(status)
	a.CreatedAt, a.UpdatedAt = created.Time, updated.Time
	if !expires.IsZero() {
		t := expires.Time
		a.SecretExpiresAt = &t
	}
	if !deleted.IsZero() {
		t := deleted.Time
		a.DeletedAt = &t
	}
	return a, []byte(hash), nil
}

// accountBy returns the account whose column col equals v, and its
// secret hash. col is one of the unique columns, never caller input.
func (s *Service) accountBy(ctx context.Context, col, v string) (ServiceAccount, []byte, error) {
	const op = "admin.accountBy"
	row := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+accountColumns+` FROM service_accounts WHERE `+col+` = ?`), v)
	a, hash, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return ServiceAccount{}, nil, errs.E(op, errs.NotExist, errs.Msg("no service account with that %s", col))
	}
	if err != nil {
		return ServiceAccount{}, nil, sqldb.Err(op, err)
	}
	return a, hash, nil
}

// ServiceAccountByName returns the service account with the given name.
func (s *Service) ServiceAccountByName(ctx context.Context, name string) (ServiceAccount, error) {
	a, _, err := s.accountBy(ctx, "name", name)
	if err != nil {
		return ServiceAccount{}, errs.E("admin.ServiceAccountByName", err)
	}
	return s.withTimeLeft(a), nil
}

// deleteAccount removes a service account by id.
func (s *Service) deleteAccount(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM service_accounts WHERE id = ?`), id)
	if err != nil {
		return sqldb.Err("admin.deleteAccount", err)
	}
	return nil
}
