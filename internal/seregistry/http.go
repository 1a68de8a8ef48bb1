package seregistry

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
)

// basePath is the root of the registry's API.
const basePath = "/api/v1/storage-elements"

// Routes registers the registry's API on rt. Any authenticated caller may
// read it, since choosing where to write needs the registry; only admins
// may change it, or make the admin service contact a URL (discover, sync).
func (r *Registry) Routes(rt chi.Router, authn api.Authenticator) {
	read := rt.With(api.Allow(authn, api.AnyRole...))
	write := rt.With(api.Allow(authn, api.AdminRoles...))
	read.Get(basePath, r.handleList)
	read.Get(basePath+"/summary", r.handleSummary)
	read.Get(basePath+"/{id}", r.handleGet)
	write.Post(basePath, r.handleRegister)
	write.Post(basePath+"/discover", r.handleDiscover)
	write.Post(basePath+"/sync", r.handleSyncAll)
	write.Put(basePath+"/{id}", r.handleUpdate)
	write.Delete(basePath+"/{id}", r.handleDelete)
	write.Post(basePath+"/{id}/sync", r.handleSync)
}

func (r *Registry) handleDiscover(w http.ResponseWriter, req *http.Request) {
	var body struct {
		URL string `json:"url"`
	}
	if err := api.DecodeJSON(req, &body); err != nil {
		api.WriteError(w, req, err)
		return
	}
	info, err := r.Discover(req.Context(), body.URL)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, info)
}

func (r *Registry) handleRegister(w http.ResponseWriter, req *http.Request) {
	var reg Registration
	if err := api.DecodeJSON(req, &reg); err != nil {
		api.WriteError(w, req, err)
		return
	}
	e, err := r.Register(req.Context(), reg)
	target := e.ElementID
	if target == "" {
		target = reg.URL
	}
	api.Audit(r.cfg.Auditor, req, "element.register", truncate(target, 256), err)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	w.Header().Set("Location", basePath+"/"+url.PathEscape(e.ElementID))
	api.WriteJSON(w, http.StatusCreated, e)
}

func (r *Registry) handleList(w http.ResponseWriter, req *http.Request) {
	f, err := parseFilter(req)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	p, err := r.List(req.Context(), f)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, p)
}

// parseFilter reads a Filter from the query string of the list route.
func parseFilter(req *http.Request) (Filter, error) {
	q, limit, offset, err := api.ListQuery(req, "mode", "status", "backend", "q")
	if err != nil {
		return Filter{}, errs.E("seregistry.parseFilter", err)
	}
	return Filter{
		Mode:    q.Get("mode"),
		Status:  q.Get("status"),
		Backend: q.Get("backend"),
		Query:   q.Get("q"),
		Limit:   limit,
		Offset:  offset,
	}, nil
}

func (r *Registry) handleSummary(w http.ResponseWriter, req *http.Request) {
	if req.URL.RawQuery != "" {
		api.WriteError(w, req, errs.E("seregistry.summary", errs.Invalid, errs.Msg("summary takes no query parameters")))
		return
	}
	s, err := r.Summary(req.Context())
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s)
}

func (r *Registry) handleGet(w http.ResponseWriter, req *http.Request) {
	e, err := r.Get(req.Context(), chi.URLParam(req, "id"))
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, e)
}

func (r *Registry) handleUpdate(w http.ResponseWriter, req *http.Request) {
	var up Update
	if err := api.DecodeJSON(req, &up); err != nil {
		api.WriteError(w, req, err)
		return
	}
	id := chi.URLParam(req, "id")
	e, err := r.Update(req.Context(), id, up)
	api.Audit(r.cfg.Auditor, req, "element.update", truncate(id, 256), err)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, e)
}

func (r *Registry) handleDelete(w http.ResponseWriter, req *http.Request) {
	id := chi.URLParam(req, "id")
	err := r.Delete(req.Context(), id)
	api.Audit(r.cfg.Auditor, req, "element.unregister", truncate(id, 256), err)
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Registry) handleSync(w http.ResponseWriter, req *http.Request) {
	e, err := r.Sync(req.Context(), chi.URLParam(req, "id"))
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, e)
}

func (r *Registry) handleSyncAll(w http.ResponseWriter, req *http.Request) {
	entries, err := r.SyncAll(req.Context())
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"items": entries, "total": len(entries)})
}

// truncate makes caller input fit to quote in an audit record: valid
// UTF-8 without control characters, at most n bytes, so that a malformed
// request is still recorded rather than refused by the log.
func truncate(s string, n int) string {
	return errs.Cut(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s), n) // strings.Map writes U+FFFD for invalid bytes
}
