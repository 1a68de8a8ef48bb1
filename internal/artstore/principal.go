package artstore

import (
	"context"
	"time"
)

// Principal is an authenticated caller: a service account (an application)
// or an admin user. It travels in the request context.
type Principal struct {
	Subject  string // the token's sub: the account's id
	ClientID string // the service account's client id, if any
	Name     string // a human-readable name, used in storage file names
	Role     Role
	// RateLimit is the requests per minute the caller may make; 0 when the
	// token does not say.
	RateLimit int
	// Kind is "user" for an admin user (a person); empty for a service
	// account.
	Kind string
	// TokenID is the token's jti, by which it can be revoked.
	TokenID string
	// IssuedAt is when the token was issued (its iat), in whole seconds.
	IssuedAt time.Time
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
