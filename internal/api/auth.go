package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Authenticator turns a bearer token into a principal. It returns an
// Unauthenticated error for a missing, malformed, forged or expired token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (artstore.Principal, error)
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errs.E("api.BearerToken", errs.Unauthenticated, errs.Msg("missing bearer token"))
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", errs.E("api.BearerToken", errs.Unauthenticated, errs.Msg("malformed Authorization header"))
	}
	return strings.TrimSpace(tok), nil
}

// Allow returns middleware that authenticates the request with a and lets
// it through only when the principal has one of roles. An empty roles list
// admits any authenticated principal. The principal is put in the request
// context (artstore.PrincipalFrom).
func Allow(a Authenticator, roles ...artstore.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := BearerToken(r)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			p, err := a.Authenticate(r.Context(), tok)
			if err != nil {
				WriteError(w, r, errs.E("api.Allow", errs.Unauthenticated, err))
				return
			}
			if l, ok := a.(Limiter); ok && !l.Admit(w, r, p) {
				return
			}
			if len(roles) > 0 && !slices.Contains(roles, p.Role) {
				WriteError(w, r, errs.E("api.Allow", errs.Permission, errs.Msg("role %q may not do this", p.Role)))
				return
			}
			next.ServeHTTP(w, r.WithContext(artstore.WithPrincipal(r.Context(), p)))
		})
	}
}

// Limiter is implemented by Authenticators that also limit the rate of
// requests: Admit counts one request of an authenticated caller, sets the
// rate headers and, when the caller is over its limit, answers 429 itself
// and returns false.
type Limiter interface {
	Admit(w http.ResponseWriter, r *http.Request, p artstore.Principal) bool
}

// The role sets of the routes.
var (
	AnyRole     []artstore.Role // any authenticated principal
	WriterRoles = []artstore.Role{artstore.RoleAdmin, artstore.RoleUser, artstore.RoleSuperAdmin}
	AdminRoles  = []artstore.Role{artstore.RoleAdmin, artstore.RoleSuperAdmin}
)
