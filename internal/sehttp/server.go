// Package sehttp serves a storage element over HTTP and provides the HTTP
// client that implements artstore.Element for a remote element. The same
// handler serves a standalone element at its root and an embedded one at
// /elements/{element_id} in the all-in-one server.
package sehttp

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Handler serves one element.
type Handler struct {
	el      artstore.Element
	authn   api.Authenticator
	r       chi.Router
	id      string // the element's id, for audit records
	auditor api.Auditor
}

// SetAuditor makes the handler record deletes and mode changes of the
// element id with a.
func (h *Handler) SetAuditor(id string, a api.Auditor) { h.id, h.auditor = id, a }

// target names a file of this element in audit records.
func (h *Handler) target(r *http.Request) string {
	return h.id + "/" + chi.URLParam(r, "file_id")
}

// Route is one route of the element API, with the roles allowed on it.
// The route table is the single source of the element's permissions.
type Route struct {
	Method  string
	Pattern string
	Roles   []artstore.Role // nil means any authenticated role
	handler func(h *Handler, w http.ResponseWriter, r *http.Request)
}

// Routes lists the element API, relative to the element's base URL.
var Routes = []Route{
	{"GET", "/api/v1/info", api.AnyRole, (*Handler).info},
	{"POST", "/api/v1/files", api.WriterRoles, (*Handler).upload},
	{"GET", "/api/v1/files", api.AnyRole, (*Handler).list},
	{"GET", "/api/v1/files/{file_id}", api.AnyRole, (*Handler).stat},
	{"PATCH", "/api/v1/files/{file_id}", api.WriterRoles, (*Handler).update},
	{"DELETE", "/api/v1/files/{file_id}", api.AdminRoles, (*Handler).delete},
	{"GET", "/api/v1/files/{file_id}/download", api.AnyRole, (*Handler).download},
	{"HEAD", "/api/v1/files/{file_id}/download", api.AnyRole, (*Handler).download},
	{"DELETE", "/api/v1/gc/{file_id}", api.AdminRoles, (*Handler).purge},
	{"POST", "/api/v1/mode", api.AdminRoles, (*Handler).setMode},
	{"GET", "/api/v1/changes", api.AnyRole, (*Handler).changes},
	{"POST", "/api/v1/rebuild", api.AdminRoles, (*Handler).rebuild},
	{"POST", "/api/v1/verify", api.AdminRoles, (*Handler).verify},
}

// NewHandler returns the HTTP handler of el; authn checks every request.
func NewHandler(el artstore.Element, authn api.Authenticator) *Handler {
	h := &Handler{el: el, authn: authn, r: chi.NewRouter()}
	for _, rt := range Routes {
		serve := rt.handler
		h.r.With(api.Allow(authn, rt.Roles...)).Method(rt.Method, rt.Pattern,
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(h, w, r) }))
	}
	h.r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, r, errs.E(errs.NotExist, errs.Msg("no route %s %s", r.Method, r.URL.Path)))
	})
	h.r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusMethodNotAllowed, api.ErrorBody{Error: api.ErrorDetail{Code: "METHOD_NOT_ALLOWED", Message: r.Method + " is not allowed on " + r.URL.Path}})
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.r.ServeHTTP(w, r) }

// Router is the handler's router, for mounting it where its routes can be
// walked.
func (h *Handler) Router() chi.Router { return h.r }

func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	info, err := h.el.Info(r.Context())
	api.Reply(w, r, http.StatusOK, info, err)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	v, limit, offset, err := api.ListQuery(r, "after", "order")
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	p := artstore.Page{Limit: limit, Offset: offset, After: v.Get("after")}
	switch order := v.Get("order"); order {
	case "", "newest":
	case "file_id":
		p.ByID = true
	default:
		api.WriteError(w, r, errs.E(errs.Invalid, errs.Msg("order %q is neither newest nor file_id", errs.Brief(order))))
		return
	}
	l, err := h.el.List(r.Context(), p)
	api.Reply(w, r, http.StatusOK, l, err)
}

func (h *Handler) stat(w http.ResponseWriter, r *http.Request) {
	f, err := h.el.Stat(r.Context(), chi.URLParam(r, "file_id"))
	api.Reply(w, r, http.StatusOK, f, err)
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	var p artstore.FilePatch
	if err := api.DecodeJSON(r, &p); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if p.MinVersion != 0 && !isAdmin(r) {
		api.WriteError(w, r, errs.E("sehttp.update", errs.Permission, errs.Msg("only the admin roles may set min_version")))
		return
	}
	f, err := h.el.Update(r.Context(), chi.URLParam(r, "file_id"), p)
	api.Reply(w, r, http.StatusOK, f, err)
}

// isAdmin tells whether the caller holds one of the admin roles, which
// alone may set what only another element's copy or a finalize should:
// preserved upload fields and least versions.
func isAdmin(r *http.Request) bool {
	who, _ := artstore.PrincipalFrom(r.Context())
	return slices.Contains(api.AdminRoles, who.Role)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	err := h.el.Delete(r.Context(), chi.URLParam(r, "file_id"))
	api.Audit(h.auditor, r, "file.delete", h.target(r), err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (h *Handler) purge(w http.ResponseWriter, r *http.Request) {
	err := h.el.Purge(r.Context(), chi.URLParam(r, "file_id"))
	api.Audit(h.auditor, r, "file.purge", h.target(r), err)
	api.Reply(w, r, http.StatusNoContent, nil, err)
}

func (h *Handler) setMode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode artstore.Mode `json:"mode"`
	}
	if err := api.DecodeJSON(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	info, err := h.el.SetMode(r.Context(), req.Mode)
	api.Audit(h.auditor, r, "element.mode", h.id+" -> "+string(req.Mode), err)
	api.Reply(w, r, http.StatusOK, info, err)
}

func (h *Handler) changes(w http.ResponseWriter, r *http.Request) {
	q, err := api.KnownQuery(r, "since", "limit", "wait")
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	bad := func(msg string) { api.WriteError(w, r, errs.E("sehttp.changes", errs.Invalid, errs.Msg("%s", msg))) }
	var (
		since int64
		limit = api.DefaultLimit
		wait  time.Duration
	)
	if s := q.Get("since"); s != "" {
		if since, err = strconv.ParseInt(s, 10, 64); err != nil || since < 0 {
			bad("since must be a non-negative integer")
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			bad("limit must be an integer")
			return
		}
	}
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil {
			bad("wait must be a duration such as 30s")
			return
		}
	}
	c, err := h.el.Changes(r.Context(), since, limit, wait)
	api.Reply(w, r, http.StatusOK, c, err)
}

func (h *Handler) rebuild(w http.ResponseWriter, r *http.Request) {
	rep, err := h.el.Rebuild(r.Context())
	api.Reply(w, r, http.StatusOK, rep, err)
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	rep, err := h.el.Verify(r.Context())
	api.Reply(w, r, http.StatusOK, struct {
		artstore.VerifyReport
		OK bool `json:"ok"`
	}{rep, rep.OK()}, err)
}
