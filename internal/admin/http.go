package admin

import (
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/ratelimit"
)

// maxTokenBody is the largest token request accepted; real ones are a few
// hundred bytes.
const maxTokenBody = 64 << 10

// Routes registers the admin service's HTTP endpoints on r. Routes that
// need a caller's identity check it with authn.
func (s *Service) Routes(r chi.Router, authn api.Authenticator) {
	r.Post("/api/v1/auth/token", s.handleToken)
	r.Get("/.well-known/jwks.json", s.handleJWKS)
	admin := r.With(api.Allow(authn, api.AdminRoles...))
	admin.Post("/api/v1/service-accounts", s.handleCreateServiceAccount)
	admin.Get("/api/v1/service-accounts", s.handleListServiceAccounts)
	admin.Get("/api/v1/service-accounts/{id}", s.handleGetServiceAccount)
	admin.Put("/api/v1/service-accounts/{id}", s.handleUpdateServiceAccount)
	admin.Delete("/api/v1/service-accounts/{id}", s.handleDeleteServiceAccount)
	admin.Post("/api/v1/service-accounts/{id}/rotate-secret", s.handleRotateSecret)
	admin.Post("/api/v1/keys/rotate", s.handleRotateKeys)
	s.userRoutes(r, authn)
}

// oauthError is the RFC 6749 §5.2 error body, which the token endpoint
// uses instead of ArtStore's envelope because OAuth2 clients expect it.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		// RFC 6749 §5.2 requires a challenge naming the scheme the client
		// may authenticate with.
		w.Header().Set("WWW-Authenticate", `Basic realm="artstore", charset="UTF-8"`)
	}
	api.WriteJSON(w, status, oauthError{Error: code, Description: desc})
}

// tokenRequest is a token request, from a form or a JSON body.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// handleToken is the OAuth2 token endpoint for the client credentials
// grant (RFC 6749 §4.4).
func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) {
	// Token responses must never be cached (RFC 6749 §5.1), and that
	// includes the errors.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")

	req, err := readTokenRequest(w, r)
	switch {
	case errs.Is(errs.Timeout, err):
		writeOAuthError(w, http.StatusRequestTimeout, "invalid_request", "the request body stalled")
		return
	case err != nil:
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if req.GrantType != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	if req.ClientID == "" || req.ClientSecret == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client credentials required")
		return
	}
	if s.guard != nil {
		// Counted before the secret is checked, so that guessing costs
		// the guesser and not our bcrypt.
		d, err := s.guard.Check(r.Context(), req.ClientID, ratelimit.SourceAddr(r))
		if err != nil {
			slog.WarnContext(r.Context(), "credential guessing guard unavailable; letting the attempt through", "err", err)
		} else if !d.Allowed {
			ratelimit.SetHeaders(w.Header(), d)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.RetryAfter.Seconds())))))
			s.auditResult(r, "auth.token", req.ClientID, errs.E(errs.Permission, errs.Msg("too many attempts")))
			writeOAuthError(w, http.StatusTooManyRequests, "invalid_request", "too many attempts; retry later")
			return
		}
	}
	tok, err := s.IssueToken(r.Context(), req.ClientID, req.ClientSecret)
	if err == nil || errs.Is(errs.Unauthenticated, err) {
		s.auditResult(r, "auth.token", req.ClientID, err)
	}
	switch {
	case errs.Is(errs.Unauthenticated, err):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "invalid client credentials")
	case errs.Is(errs.Unavailable, err):
		w.Header().Set("Retry-After", "5")
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "")
	case err != nil:
		slog.ErrorContext(r.Context(), "issuing a token failed", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "")
	default:
		api.WriteJSON(w, http.StatusOK, tok)
	}
}

// readTokenRequest reads the client's credentials from the body (a form,
// or JSON) and from HTTP Basic authentication (RFC 6749 §2.3.1). It
// returns an error whose message is for the client when the request is
// malformed: Invalid, or Timeout for a body that stalled. A JSON body may
// leave out grant_type, which then means client_credentials.
func readTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, error) {
	var req tokenRequest
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenBody)
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return req, errs.E(errs.Invalid, errs.Msg("Content-Type must be application/x-www-form-urlencoded or application/json"))
	}
	switch ct {
	case "application/x-www-form-urlencoded":
		// Only the body counts: RFC 6749 forbids credentials in the URL,
		// where they would end up in logs.
		if err := r.ParseForm(); err != nil {
			return req, api.BodyError("", "malformed request body", err)
		}
		for _, name := range []string{"grant_type", "client_id", "client_secret"} {
			if len(r.PostForm[name]) > 1 {
				return req, errs.E(errs.Invalid, errs.Msg("parameter %s repeated", name))
			}
		}
		req.GrantType = r.PostForm.Get("grant_type")
		if req.GrantType == "" {
			return req, errs.E(errs.Invalid, errs.Msg("grant_type is required"))
		}
		req.ClientID = r.PostForm.Get("client_id")
		req.ClientSecret = r.PostForm.Get("client_secret")
	case "application/json":
		// Unknown fields (such as scope) are ignored, as they are in a form.
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = api.ParseJSON(body, &req, false)
		}
		if err != nil {
			return req, api.BodyError("", "malformed request body", err)
		}
		if req.GrantType == "" {
			req.GrantType = "client_credentials"
		}
	default:
		return req, errs.E(errs.Invalid, errs.Msg("Content-Type must be application/x-www-form-urlencoded or application/json"))
	}

	if id, secret, ok := r.BasicAuth(); ok {
		// A client uses one authentication method (RFC 6749 §2.3).
		if req.ClientSecret != "" {
			return req, errs.E(errs.Invalid, errs.Msg("client credentials given both in the body and in the Authorization header"))
		}
		// The Basic credentials are form-encoded before base64 (§2.3.1).
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return req, errs.E(errs.Invalid, errs.Msg("malformed Authorization header"))
		}
		if req.ClientID != "" && req.ClientID != id {
			return req, errs.E(errs.Invalid, errs.Msg("client_id differs from the Authorization header"))
		}
		req.ClientID, req.ClientSecret = id, secret
	} else if r.Header.Get("Authorization") != "" {
		return req, errs.E(errs.Invalid, errs.Msg("unsupported Authorization scheme; use Basic or the body"))
	}
	return req, nil
}

// handleJWKS serves the public signing keys. They change rarely and
// verifiers refetch on an unknown kid, so caches may keep them a while.
func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.keys.refreshIfStale(r.Context())
	w.Header().Set("Cache-Control", "public, max-age=300")
	api.WriteJSON(w, http.StatusOK, s.JWKS())
}

// createAccountRequest is the body of POST /api/v1/service-accounts.
type createAccountRequest struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Role        artstore.Role `json:"role"`
	RateLimit   int           `json:"rate_limit"`
}

// withSecret is an account with its secret, shown this once only.
type withSecret struct {
	ServiceAccount
	ClientSecret string `json:"client_secret"`
}

func (s *Service) handleCreateServiceAccount(w http.ResponseWriter, r *http.Request) {
	// The answer holds a secret, which no cache may keep.
	w.Header().Set("Cache-Control", "no-store")
	var req createAccountRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = artstore.RoleUser
	}
	if err := mayGrant(r, req.Role); err != nil {
		api.WriteError(w, r, err)
		return
	}
	a, secret, err := s.CreateAccount(r.Context(), AccountSpec{Name: req.Name, Description: req.Description, Role: req.Role, RateLimit: req.RateLimit})
	s.auditResult(r, "service_account.create", a.ID+" role "+string(req.Role), err)
	api.Reply(w, r, http.StatusCreated, withSecret{a, secret}, err)
}

// mayGrant refuses to let a caller give a service account the auditor role
// unless the caller may read the audit log itself: an admin must not reach
// the log through an account of its making.
func mayGrant(r *http.Request, role artstore.Role) error {
	p, _ := artstore.PrincipalFrom(r.Context())
	if role == artstore.RoleAuditor && p.Role != artstore.RoleAuditor && p.Role != artstore.RoleSuperAdmin {
		return errs.E("admin.grant", errs.Permission, errs.Msg("only the roles that read the audit log may grant the auditor role"))
	}
	return nil
}

func (s *Service) handleListServiceAccounts(w http.ResponseWriter, r *http.Request) {
	q, limit, offset, err := api.ListQuery(r, "role", "status", "q")
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	list, err := s.ListAccounts(r.Context(), AccountFilter{Role: artstore.Role(q.Get("role")), Status: AccountStatus(q.Get("status")), Query: q.Get("q"), Limit: limit, Offset: offset})
	api.Reply(w, r, http.StatusOK, list, err)
}

func (s *Service) handleGetServiceAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.Account(r.Context(), chi.URLParam(r, "id"))
	api.Reply(w, r, http.StatusOK, a, err)
}

func (s *Service) handleUpdateServiceAccount(w http.ResponseWriter, r *http.Request) {
	var u AccountUpdate
	if err := api.DecodeJSON(r, &u); err != nil {
		api.WriteError(w, r, err)
		return
	}
	target := chi.URLParam(r, "id")
	if u.Role != nil {
		if err := mayGrant(r, *u.Role); err != nil {
			api.WriteError(w, r, err)
			return
		}
		target += " role " + string(*u.Role)
	}
	if u.Status != nil {
		target += " status " + string(*u.Status)
	}
	a, err := s.UpdateAccount(r.Context(), chi.URLParam(r, "id"), u)
	s.auditResult(r, "service_account.update", target, err)
	api.Reply(w, r, http.StatusOK, a, err)
}

func (s *Service) handleDeleteServiceAccount(w http.ResponseWriter, r *http.Request) {
	err := s.DeleteAccount(r.Context(), chi.URLParam(r, "id"))
	s.auditResult(r, "service_account.delete", chi.URLParam(r, "id"), err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) handleRotateSecret(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	a, secret, err := s.RotateSecret(r.Context(), chi.URLParam(r, "id"))
	s.auditResult(r, "service_account.rotate_secret", chi.URLParam(r, "id"), err)
	api.Reply(w, r, http.StatusOK, withSecret{a, secret}, err)
}

func (s *Service) handleRotateKeys(w http.ResponseWriter, r *http.Request) {
	rot, err := s.RotateKeys(r.Context())
	s.auditResult(r, "keys.rotate", rot.KID, err)
	api.Reply(w, r, http.StatusOK, rot, err)
}
