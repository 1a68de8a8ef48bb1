package admin

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Limits of service account fields.
const (
	MaxDescriptionLen = 1000 // characters
	MaxRateLimit      = 1_000_000
	// secretHistory is how many earlier secrets a rotation may not reuse.
	secretHistory = 5
)

func validDescription(d string) error {
	if err := sqldb.CheckText(d); err != nil {
		return errs.E(errs.Invalid, errs.Msg("description %v", err))
	}
	if n := utf8.RuneCountInString(d); n > MaxDescriptionLen {
		return errs.E(errs.Invalid, errs.Msg("description is %d characters long; the limit is %d", n, MaxDescriptionLen))
	}
	return nil
}

func validRateLimit(n int) error {
	if n < 1 || n > MaxRateLimit {
		return errs.E(errs.Invalid, errs.Msg("rate_limit must be from 1 to %d requests per minute", MaxRateLimit))
	}
	return nil
}

// ValidClientID checks a client id given by configuration: the "sa_"
// prefix and 8 to 64 characters of letters, digits, '-' and '_'.
func ValidClientID(id string) error {
	bad := errs.E(errs.Invalid, errs.Msg("client id %q must be %s followed by 5 to 61 letters, digits, '-' or '_'", errs.Brief(id), clientIDPrefix))
	if !strings.HasPrefix(id, clientIDPrefix) || len(id) < 8 || len(id) > 64 {
		return bad
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return bad
		}
	}
	return nil
}

// withTimeLeft fills in the days left of a's secret.
func (s *Service) withTimeLeft(a ServiceAccount) ServiceAccount {
	if a.SecretExpiresAt != nil {
		d := int(math.Floor(a.SecretExpiresAt.Sub(s.clock()).Hours() / 24))
		a.SecretExpiresInDays = &d
	}
	return a
}

// inTx runs fn in a transaction.
func (s *Service) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return sqldb.Err(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		var e *errs.Error
		if errors.As(err, &e) {
			return err
		}
		return sqldb.Err(op, err)
	}
	if err := tx.Commit(); err != nil {
		return sqldb.Err(op, err)
	}
	return nil
}

// rememberSecret records a secret's hash and forgets all but the newest
// secretHistory of the account's.
func (s *Service) rememberSecret(ctx context.Context, tx *sql.Tx, id string, hash []byte, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO service_account_secrets (account_id, secret_hash, created_at) VALUES (?, ?, ?)`),
		id, string(hash), s.timeArg(at)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM service_account_secrets WHERE account_id = ? AND created_at NOT IN
		(SELECT created_at FROM service_account_secrets WHERE account_id = ? ORDER BY created_at DESC LIMIT ?)`), id, id, secretHistory)
	return err
}

// Account returns a service account by id; deleted accounts are found too.
func (s *Service) Account(ctx context.Context, id string) (ServiceAccount, error) {
	a, _, err := s.accountBy(ctx, "id", id)
	if err != nil {
		return ServiceAccount{}, errs.E("admin.Account", err)
	}
	return s.withTimeLeft(a), nil
}

// AccountFilter selects service accounts to list.
type AccountFilter struct {
	Role   artstore.Role
	Status AccountStatus // empty: every state but deleted
	Query  string        // text in the name or description, any case
	Limit  int
	Offset int
}

// AccountList is a page of service accounts, by name.
type AccountList struct {
	Items   []ServiceAccount `json:"items"`
	Total   int64            `json:"total"`
	Limit   int              `json:"limit"`
	Offset  int              `json:"offset"`
	HasMore bool             `json:"has_more"`
}

// ListAccounts lists service accounts by name.
func (s *Service) ListAccounts(ctx context.Context, f AccountFilter) (AccountList, error) {
	const op = "admin.ListAccounts"
	where, args := []string{}, []any{}
	if f.Role != "" {
		if !f.Role.Valid() {
			return AccountList{}, errs.E(op, errs.Invalid, errs.Msg("unknown role %q", errs.Brief(string(f.Role))))
		}
		where, args = append(where, "role = ?"), append(args, string(f.Role))
	}
	switch {
	case f.Status == "":
		where, args = append(where, "status <> ?"), append(args, string(StatusDeleted))
	case f.Status.Valid():
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	default:
		return AccountList{}, errs.E(op, errs.Invalid, errs.Msg("unknown status %q", errs.Brief(string(f.Status))))
	}
	if f.Query != "" {
		if sqldb.CheckText(f.Query) != nil || len(f.Query) > 200 {
			return AccountList{}, errs.E(op, errs.Invalid, errs.Msg("q must be valid UTF-8 without NUL, of at most 200 bytes"))
		}
		pat := sqldb.LikeContains(strings.ToLower(f.Query))
		where, args = append(where, `(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`), append(args, pat, pat)
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int64
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM service_accounts`+cond), args...).Scan(&total); err != nil {
		return AccountList{}, sqldb.Err(op, err)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT `+accountColumns+` FROM service_accounts`+cond+` ORDER BY name, id LIMIT ? OFFSET ?`),
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return AccountList{}, sqldb.Err(op, err)
	}
	defer rows.Close()
	out := AccountList{Items: []ServiceAccount{}, Total: total, Limit: f.Limit, Offset: f.Offset}
	for rows.Next() {
		a, _, err := scanAccount(rows)
		if err != nil {
			return AccountList{}, sqldb.Err(op, err)
		}
		out.Items = append(out.Items, s.withTimeLeft(a))
	}
	if err := rows.Err(); err != nil {
		return AccountList{}, sqldb.Err(op, err)
	}
	out.HasMore = int64(f.Offset+len(out.Items)) < total
	return out, nil
}

// AccountUpdate changes a service account; nil fields are left alone.
type AccountUpdate struct {
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Role        *artstore.Role `json:"role"`
	RateLimit   *int           `json:"rate_limit"`
	Status      *AccountStatus `json:"status"`
}

// UpdateAccount changes a service account. The bootstrap account keeps its
// role and rate limit and stays active, so that the system never locks
// itself out.
func (s *Service) UpdateAccount(ctx context.Context, id string, u AccountUpdate) (ServiceAccount, error) {
	const op = "admin.UpdateAccount"
	a, err := s.Account(ctx, id)
	if err != nil {
		return ServiceAccount{}, errs.E(op, err)
	}
	if a.Status == StatusDeleted {
		return ServiceAccount{}, errs.E(op, errs.NotExist, errs.Msg("service account %s is deleted", id))
	}
	if u.Name != nil {
		if a.Name, err = validName(*u.Name); err != nil {
			return ServiceAccount{}, errs.E(op, errs.Invalid, err)
		}
	}
	if u.Description != nil {
		if err := validDescription(*u.Description); err != nil {
			return ServiceAccount{}, errs.E(op, err)
		}
		a.Description = *u.Description
	}
	if u.Role != nil {
		if !u.Role.Valid() {
			return ServiceAccount{}, errs.E(op, errs.Invalid, errs.Msg("unknown role %q", errs.Brief(string(*u.Role))))
		}
		a.Role = *u.Role
	}
	limit := a.RateLimit
	if u.RateLimit != nil {
		if err := validRateLimit(*u.RateLimit); err != nil {
			return ServiceAccount{}, errs.E(op, err)
		}
		a.RateLimit = *u.RateLimit
	}
	if u.Status != nil {
		if *u.Status != StatusActive && *u.Status != StatusSuspended {
			return ServiceAccount{}, errs.E(op, errs.Invalid, errs.Msg("status must be active or suspended (delete the account to delete it)"))
		}
		a.Status = *u.Status
	}
	if s.isBootstrap(a) && (a.Role != artstore.RoleAdmin || a.Status != StatusActive || a.RateLimit != limit) {
		return ServiceAccount{}, errs.E(op, errs.Conflict, errs.Code("PROTECTED_ACCOUNT"), errs.Msg("the bootstrap account stays an active admin with its rate limit"))
	}
	a.UpdatedAt = s.clock()
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE service_accounts SET name = ?, description = ?, role = ?, rate_limit = ?, status = ?, updated_at = ? WHERE id = ?`),
		a.Name, a.Description, string(a.Role), a.RateLimit, string(a.Status), s.timeArg(a.UpdatedAt), a.ID)
	if sqldb.IsUniqueViolation(err) {
		return ServiceAccount{}, errs.E(op, errs.Exist, errs.Msg("a service account named %q already exists", a.Name))
	}
	if err != nil {
		return ServiceAccount{}, sqldb.Err(op, err)
	}
	return s.withTimeLeft(a), nil
}

func (s *Service) isBootstrap(a ServiceAccount) bool {
	return a.Name == BootstrapAccount || (s.cfg.BootstrapClientID != "" && a.ClientID == s.cfg.BootstrapClientID)
}

// DeleteAccount deletes a service account softly: it can no longer obtain
// tokens, its name is freed, and it stays on record.
func (s *Service) DeleteAccount(ctx context.Context, id string) error {
	const op = "admin.DeleteAccount"
	a, err := s.Account(ctx, id)
	if err != nil {
		return errs.E(op, err)
	}
	if a.Status == StatusDeleted {
		return errs.E(op, errs.NotExist, errs.Msg("service account %s is already deleted", id))
	}
	if s.isBootstrap(a) {
		return errs.E(op, errs.Conflict, errs.Code("PROTECTED_ACCOUNT"), errs.Msg("the bootstrap account cannot be deleted"))
	}
	now := s.clock()
	gone := a.Name
	if suffix := " (deleted " + a.ID[:8] + ")"; utf8.RuneCountInString(gone)+utf8.RuneCountInString(suffix) <= MaxNameLen {
		gone += suffix
	} else {
		gone = "deleted " + a.ID
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE service_accounts SET status = ?, name = ?, deleted_at = ?, updated_at = ? WHERE id = ?`),
		string(StatusDeleted), gone, s.timeArg(now), s.timeArg(now), a.ID)
	if err != nil {
		return sqldb.Err(op, err)
	}
	return nil
}

// RotateSecret gives an account a new secret, shown once, which restarts
// the secret's lifetime. The old secret stops working at once. A new
// secret never equals one of the last five.
func (s *Service) RotateSecret(ctx context.Context, id string) (ServiceAccount, string, error) {
	const op = "admin.RotateSecret"
	a, err := s.Account(ctx, id)
	if err != nil {
		return ServiceAccount{}, "", errs.E(op, err)
	}
	if a.Status == StatusDeleted {
		return ServiceAccount{}, "", errs.E(op, errs.NotExist, errs.Msg("service account %s is deleted", id))
	}
	// The hashing happens before the transaction, which then holds its
	// locks only for the writes.
	old, err := s.recentHashes(ctx, `SELECT secret_hash FROM service_account_secrets WHERE account_id = ? ORDER BY created_at DESC LIMIT ?`, a.ID, secretHistory)
	if err != nil {
		return ServiceAccount{}, "", sqldb.Err(op, err)
	}
	var secret string
	for attempt := 0; ; attempt++ {
		secret = newSecret()
		if !matchesAny(old, secret) {
			break
		}
		if attempt == 3 {
			return ServiceAccount{}, "", errs.E(op, errs.Internal, errs.Msg("could not draw a fresh secret"))
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), s.cfg.BcryptCost)
	if err != nil {
		return ServiceAccount{}, "", errs.E(op, errs.Internal, err)
	}
	now := s.clock()
	a.UpdatedAt, a.SecretExpiresAt = now, nil
	var expires any
	if s.cfg.SecretTTL > 0 && !s.isBootstrap(a) {
		t := now.Add(s.cfg.SecretTTL)
		a.SecretExpiresAt, expires = &t, s.timeArg(t)
	}
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE service_accounts SET secret_hash = ?, secret_expires_at = ?, updated_at = ? WHERE id = ?`),
			string(hash), expires, s.timeArg(now), a.ID); err != nil {
			return err
		}
		return s.rememberSecret(ctx, tx, a.ID, hash, now)
	})
	if err != nil {
		return ServiceAccount{}, "", err
	}
	return s.withTimeLeft(a), secret, nil
}

// recentHashes returns the hashes a query for an account's or user's
// latest secrets or passwords yields, given the id and how many.
func (s *Service) recentHashes(ctx context.Context, query, id string, n int) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), id, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, []byte(h))
	}
	return out, rows.Err()
}

func matchesAny(hashes [][]byte, secret string) bool {
	for _, h := range hashes {
		if bcrypt.CompareHashAndPassword(h, []byte(secret)) == nil {
			return true
		}
	}
	return false
}
