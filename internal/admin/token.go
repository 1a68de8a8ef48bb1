package admin

import (
	"context"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/errs"
)

// Token is an issued access token, as the token endpoint returns it
// (RFC 6749 §5.1).
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"` // seconds
}

// errBadClient is the one answer to every credential failure, so that a
// caller cannot tell an unknown client from a wrong secret or a disabled
// account.
func errBadClient(op string) error {
	return errs.E(op, errs.Unauthenticated, errs.Msg("invalid client credentials"))
}

// IssueToken checks a service account's client credentials and returns
// an access token for it. Every credential failure is the same
// errs.Unauthenticated error, and takes about as long.
func (s *Service) IssueToken(ctx context.Context, clientID, clientSecret string) (Token, error) {
	const op = "admin.IssueToken"
	var (
		a    ServiceAccount
		hash = s.dummyHash
		err  error
	)
	// A client id that cannot exist is not looked up, but still costs a
	// bcrypt comparison below.
	known := ValidClientID(clientID) == nil
	if known {
		a, hash, err = s.accountBy(ctx, "client_id", clientID)
		switch {
		case errs.Is(errs.NotExist, err):
			known, hash = false, s.dummyHash
		case err != nil:
			return Token{}, errs.E(op, err)
		}
	}
	// bcrypt only reads 72 bytes; a longer secret cannot be ours, and is
	// cut so that it costs the same as any other.
	secret := []byte(clientSecret)
	tooLong := len(secret) > 72
	if tooLong {
		secret = secret[:72]
	}
	match := bcrypt.CompareHashAndPassword(hash, secret) == nil
	expired := a.SecretExpiresAt != nil && !s.clock().Before(*a.SecretExpiresAt)
	if !known || !match || tooLong || a.Status != StatusActive || !a.Role.Valid() || expired {
		return Token{}, errBadClient(op)
	}
	return s.sign(ctx, a)
}

// sign issues an access token for a.
func (s *Service) sign(ctx context.Context, a ServiceAccount) (Token, error) {
	signed, err := s.signClaims(ctx, a.ID, auth.Claims{Role: a.Role, ClientID: a.ClientID, Name: a.Name, RateLimit: a.RateLimit})
	if err != nil {
		return Token{}, err
	}
	return Token{AccessToken: signed, TokenType: "Bearer", ExpiresIn: int64(s.cfg.TokenTTL.Seconds())}, nil
}

// signClaims signs an access token for subject with claims, adding the
// registered claims every token carries. Another admin process may have
// rotated the keys, so they are refreshed first when stale.
func (s *Service) signClaims(ctx context.Context, subject string, claims auth.Claims) (string, error) {
	const op = "admin.sign"
	s.keys.refreshIfStale(ctx)
	key := s.keys.signer()
	if key == nil || key.priv == nil {
		return "", errs.E(op, errs.Internal, errs.Msg("no signing key"))
	}
	now := s.clock()
	claims.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    s.cfg.Issuer,
		Audience:  jwt.ClaimStrings{s.cfg.Audience},
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.TokenTTL)),
		ID:        uuid.NewString(),
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(auth.Algorithm), claims)
	tok.Header["kid"] = key.kid
	signed, err := tok.SignedString(key.priv)
	if err != nil {
		return "", errs.E(op, errs.Internal, err)
	}
	return signed, nil
}

// Verifier returns a verifier for the tokens this service issues, reading
// keys from it directly. The all-in-one server uses it; services in other
// processes use auth.RemoteJWKS instead.
func (s *Service) Verifier() *auth.Verifier { return s.verifier }
