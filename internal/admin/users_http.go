package admin

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/ratelimit"
)

// The roles of the admin-user routes: people with super_admin manage
// people; admin may look.
var (
	userReaders = []artstore.Role{artstore.RoleSuperAdmin, artstore.RoleAdmin}
	userWriters = []artstore.Role{artstore.RoleSuperAdmin}
)

// userRoutes registers the admin-auth and admin-user endpoints.
func (s *Service) userRoutes(r chi.Router, authn api.Authenticator) {
	r.Post("/api/v1/admin-auth/login", s.handleLogin)
	r.Post("/api/v1/admin-auth/refresh", s.handleRefresh)
	r.With(api.Allow(authn)).Post("/api/v1/admin-auth/logout", s.handleLogout)
	r.With(api.Allow(authn)).Get("/api/v1/admin-auth/me", s.handleMe)
	r.With(api.Allow(authn)).Post("/api/v1/admin-auth/change-password", s.handleChangePassword)
	read, write := r.With(api.Allow(authn, userReaders...)), r.With(api.Allow(authn, userWriters...))
	write.Post("/api/v1/admin-users", s.handleCreateUser)
	read.Get("/api/v1/admin-users", s.handleListUsers)
	read.Get("/api/v1/admin-users/{id}", s.handleGetUser)
	write.Put("/api/v1/admin-users/{id}", s.handleUpdateUser)
	write.Delete("/api/v1/admin-users/{id}", s.handleDeleteUser)
	write.Post("/api/v1/admin-users/{id}/reset-password", s.handleResetPassword)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if s.guard != nil {
		if d, err := s.guard.Check(r.Context(), "user:"+req.Username, sourceOf(r)); err == nil && !d.Allowed {
			s.auditResult(r, "auth.login", req.Username, errs.E(errs.Permission, errs.Msg("too many attempts")))
			ratelimit.WriteLimited(w, d, s.guard.Window())
			return
		}
	}
	sess, err := s.Login(r.Context(), req.Username, req.Password)
	s.auditResult(r, "auth.login", req.Username, err)
	api.Reply(w, r, http.StatusOK, sess, err)
}

func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	sess, err := s.Refresh(r.Context(), req.RefreshToken)
	// A refresh token names nobody until it is found: a refused one is
	// recorded without a name.
	s.auditResult(r, "auth.refresh", sess.Username, err)
	api.Reply(w, r, http.StatusOK, sess, err)
}

// person is the caller when it is an admin user.
func person(r *http.Request) (artstore.Principal, error) {
	p, _ := artstore.PrincipalFrom(r.Context())
	if p.Kind != "user" {
		return p, errs.E(errs.Permission, errs.Msg("this is for admin users; a service account has no password"))
	}
	return p, nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, err := person(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if r.ContentLength != 0 {
		if err := api.DecodeJSON(r, &req); err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	err = s.Logout(r.Context(), p, req.RefreshToken)
	s.auditResult(r, "auth.logout", p.Name, err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	p, err := person(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	u, err := s.User(r.Context(), p.Subject)
	api.Reply(w, r, http.StatusOK, u, err)
}

func (s *Service) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	p, err := person(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	err = s.ChangePassword(r.Context(), p.Subject, req.CurrentPassword, req.NewPassword)
	s.auditResult(r, "admin_user.change_password", p.Name, err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var n NewUser
	if err := api.DecodeJSON(r, &n); err != nil {
		api.WriteError(w, r, err)
		return
	}
	u, err := s.CreateUser(r.Context(), n)
	s.auditResult(r, "admin_user.create", n.Username, err)
	api.Reply(w, r, http.StatusCreated, u, err)
}

func (s *Service) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q, limit, offset, err := api.ListQuery(r, "role", "status", "q")
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	list, err := s.ListUsers(r.Context(), UserFilter{Role: artstore.Role(q.Get("role")), Status: q.Get("status"), Query: q.Get("q"), Limit: limit, Offset: offset})
	api.Reply(w, r, http.StatusOK, list, err)
}

func (s *Service) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.User(r.Context(), chi.URLParam(r, "id"))
	api.Reply(w, r, http.StatusOK, u, err)
}

func (s *Service) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	var up UserUpdate
	if err := api.DecodeJSON(r, &up); err != nil {
		api.WriteError(w, r, err)
		return
	}
	u, err := s.UpdateUser(r.Context(), chi.URLParam(r, "id"), up)
	s.auditResult(r, "admin_user.update", chi.URLParam(r, "id"), err)
	api.Reply(w, r, http.StatusOK, u, err)
}

func (s *Service) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	p, _ := artstore.PrincipalFrom(r.Context())
	err := s.DeleteUser(r.Context(), p.Subject, chi.URLParam(r, "id"))
	s.auditResult(r, "admin_user.delete", chi.URLParam(r, "id"), err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (s *Service) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		NewPassword string `json:"new_password"`
	}
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	err := s.ResetPassword(r.Context(), chi.URLParam(r, "id"), req.NewPassword)
	s.auditResult(r, "admin_user.reset_password", chi.URLParam(r, "id"), err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}
