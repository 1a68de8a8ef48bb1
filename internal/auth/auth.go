// Package auth verifies ArtStore's access tokens. It owns the claims an
// access token carries and the rules a token must pass before its bearer
// becomes an artstore.Principal: an RS256 signature by a key the admin
// service published, the expected issuer and audience, valid times, and a
// known role. Every service uses a Verifier, fed either in process by the
// admin service's keystore or over HTTP from its JWKS endpoint; the admin
// service alone signs tokens.
package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Algorithm is the only signing algorithm ArtStore issues or accepts.
// Pinning it defeats the classic confusions: "none", and HS256 with the
// public key used as the HMAC secret.
const Algorithm = "RS256"

// Leeway is the clock skew tolerated on exp, nbf and iat, so that hosts
// whose clocks drift a little still accept each other's tokens.
const Leeway = 30 * time.Second

// maxTokenLen bounds the work an unauthenticated caller can make us do.
// Our tokens are well under 1 KiB; 8 KiB leaves room for growth.
const maxTokenLen = 8 << 10

// Claims are the claims of an ArtStore access token. The registered claims
// carry iss, aud, sub (the account id), iat, nbf, exp and jti; the header
// carries the kid of the signing key.
type Claims struct {
	Role     artstore.Role `json:"role"`
	ClientID string        `json:"client_id,omitempty"`
	Name     string        `json:"name,omitempty"`
	// RateLimit is the requests per minute the account may make.
	RateLimit int `json:"rate_limit,omitempty"`
	// Kind is "user" in admin users' tokens.
	Kind string `json:"kind,omitempty"`
	jwt.RegisteredClaims
}

// Verifier checks access tokens. It implements api.Authenticator.
type Verifier struct {
	keys    KeySource
	parser  *jwt.Parser
	revoked func(context.Context, artstore.Principal) (bool, error)
}

// SetRevocation makes the verifier also ask fn whether a valid token was
// revoked (by a logout); a token fn cannot clear is refused.
func (v *Verifier) SetRevocation(fn func(context.Context, artstore.Principal) (bool, error)) {
	v.revoked = fn
}

// NewVerifier returns a Verifier that accepts tokens signed by a key from
// keys, issued by issuer for audience.
func NewVerifier(keys KeySource, issuer, audience string) *Verifier {
	return &Verifier{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{Algorithm}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithStrictDecoding(),
		),
	}
}

// These errors are returned by the key lookup inside the parser, so that
// reason can tell them apart from the parser's own failures.
var (
	errMissingKID = errors.New("token has no kid")
	errUnknownKID = errors.New("unknown signing key")
)

// Authenticate verifies token and returns the principal it names. Every
// failure is an errs.Unauthenticated error with a short reason; the token
// itself never appears in the error, since errors end up in logs.
func (v *Verifier) Authenticate(ctx context.Context, token string) (artstore.Principal, error) {
	const op = "auth.Authenticate"
	if token == "" {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("missing token"))
	}
	if len(token) > maxTokenLen {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("token too long"))
	}
	var c Claims
	tok, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errMissingKID
		}
		key, err := v.keys.Key(ctx, kid)
		if err != nil {
			return nil, errUnknownKID
		}
		// The parser has already pinned the algorithm; insisting on an
		// RSA key as well keeps a misconfigured source from widening it.
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, errUnknownKID
		}
		return pub, nil
	})
	if err != nil {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("%s", reason(tok, err)))
	}
	if c.Subject == "" {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("token has no subject"))
	}
	if c.Role == "" {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("token has no role"))
	}
	if !c.Role.Known() {
		return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("token has an unknown role"))
	}
	p := artstore.Principal{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Name:      c.Name,
		Role:      c.Role,
		RateLimit: c.RateLimit,
		Kind:      c.Kind,
		TokenID:   c.ID,
	}
	if c.IssuedAt != nil {
		p.IssuedAt = c.IssuedAt.Time
	}
	if v.revoked != nil {
		if gone, err := v.revoked(ctx, p); err != nil || gone {
			return artstore.Principal{}, errs.E(op, errs.Unauthenticated, errs.Msg("token revoked"))
		}
	}
	return p, nil
}

// reason turns a parser error into a short, fixed message. The parser's
// own messages are not passed on because some of them quote parts of the
// token (such as a kid) that the caller chose.
func reason(tok *jwt.Token, err error) string {
	switch {
	case errors.Is(err, errMissingKID):
		return "token has no kid"
	case errors.Is(err, errUnknownKID):
		return "token signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Method != nil && tok.Method.Alg() != Algorithm {
			return "signing algorithm not allowed"
		}
		return "invalid signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token cannot be verified"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token is for another audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token from an unknown issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim"
	}
	return "invalid token"
}
