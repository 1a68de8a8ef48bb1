package admin

import (
	"context"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// retireLeeway is added to the token lifetime before a replaced key leaves
// the JWKS, to cover clock skew between processes.
const retireLeeway = 2 * time.Minute

// Rotation reports a key rotation.
type Rotation struct {
	KID string `json:"kid"` // the new signing key
	// Previous are the keys that stopped signing; they stay published
	// until RetireAt, when every token they signed has expired.
	Previous []string  `json:"previous"`
	RetireAt time.Time `json:"retire_at"`
}

// RotateKeys makes a new signing key current. The keys it replaces sign
// nothing more but stay in the JWKS until every token they signed has
// expired, so no valid token stops verifying.
func (s *Service) RotateKeys(ctx context.Context) (Rotation, error) {
	const op = "admin.RotateKeys"
	before, err := s.unexpiredKIDs(ctx)
	if err != nil {
		return Rotation{}, errs.E(op, err)
	}
	if err := s.keys.create(ctx); err != nil {
		return Rotation{}, errs.E(op, err)
	}
	now := s.clock()
	rot := Rotation{Previous: []string{}, RetireAt: now.Add(s.cfg.TokenTTL + retireLeeway)}
	for _, kid := range before {
		_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE signing_keys SET not_after = ?, retired_at = ? WHERE kid = ? AND not_after IS NULL`),
			s.timeArg(now), s.timeArg(rot.RetireAt), kid)
		if err != nil {
			return Rotation{}, sqldb.Err(op, err)
		}
		rot.Previous = append(rot.Previous, kid)
	}
	if err := s.keys.load(ctx); err != nil {
		return Rotation{}, errs.E(op, err)
	}
	if cur := s.keys.signer(); cur != nil {
		rot.KID = cur.kid
	}
	return rot, nil
}

// unexpiredKIDs lists the keys that may still sign.
func (s *Service) unexpiredKIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kid FROM signing_keys WHERE not_after IS NULL`)
	if err != nil {
		return nil, sqldb.Err("admin.unexpiredKIDs", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kid string
		if err := rows.Scan(&kid); err != nil {
			return nil, sqldb.Err("admin.unexpiredKIDs", err)
		}
		out = append(out, kid)
	}
	return out, rows.Err()
}

// RotateIfDue rotates the keys when the current one is older than the
// configured rotation age, and reports whether it did.
func (s *Service) RotateIfDue(ctx context.Context) (bool, error) {
	if s.cfg.KeyRotation <= 0 {
		return false, nil
	}
	if err := s.keys.load(ctx); err != nil {
		return false, err
	}
	cur := s.keys.signer()
	if cur != nil && s.clock().Sub(cur.created) < s.cfg.KeyRotation {
		return false, nil
	}
	_, err := s.RotateKeys(ctx)
	return err == nil, err
}

// SystemTokens is a token source for the process's own calls to other
// services (storage elements it registers and polls): tokens of the
// bootstrap service account, signed here without its secret.
func (s *Service) SystemTokens() api.TokenSource { return &systemTokens{s: s} }

type systemTokens struct {
	s   *Service
	mu  sync.Mutex
	tok string
	exp time.Time
}

// Token implements api.TokenSource.
func (t *systemTokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && time.Until(t.exp) > time.Minute {
		return t.tok, nil
	}
	a, err := t.s.ServiceAccountByName(ctx, BootstrapAccount)
	if err != nil {
		return "", err
	}
	tok, err := t.s.sign(ctx, a)
	if err != nil {
		return "", err
	}
	t.tok, t.exp = tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return t.tok, nil
}
