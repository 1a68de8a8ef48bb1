package server

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/docs"
	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sehttp"
	"github.com/artstore/artstore/internal/sqldb"
)

// routes mounts every API of the process on one router.
func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.metrics.Middleware, recoverer(s), api.BodyIdleTimeout(time.Duration(s.cfg.Limits.BodyIdleTimeout)))
	r.Get("/health/live", func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/health/ready", s.ready)
	r.Method("GET", "/metrics", s.metrics.Handler())
	r.Get("/api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(docs.OpenAPI)
	})
	r.Get("/api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(docs.OpenAPIJSON())
	})
	if s.admin != nil {
		s.admin.Routes(r, s.authn)
	}
	if s.gc != nil {
		s.gc.Routes(r, s.authn)
	}
	if s.auditLog != nil && s.admin != nil {
		s.auditLog.Routes(r, s.authn, artstore.RoleAuditor, artstore.RoleSuperAdmin)
	}
	if s.reconciler != nil {
		s.reconciler.Routes(r, s.authn)
	}
	if s.registry != nil {
		s.registry.Routes(r, s.authn)
	}
	if s.ingest != nil {
		s.ingest.Routes(r, s.authn)
	}
	if s.query != nil {
		s.query.Routes(r, s.authn)
	}
	for _, e := range s.elements {
		s.metrics.WatchCapacity(e.el)
		h := sehttp.NewHandler(s.metrics.Element(e.cfg.ID, e.el), s.authn)
		h.SetAuditor(e.cfg.ID, s.apiAuditor())
		r.Mount("/elements/"+e.cfg.ID, h.Router())
	}
	// A process that is nothing but one storage element also serves it at
	// its root, as a standalone element.
	if len(s.elements) == 1 && len(s.cfg.Roles) == 1 && s.cfg.Roles[0] == config.RoleStorage {
		h := sehttp.NewHandler(s.metrics.Element(s.elements[0].cfg.ID, s.elements[0].el), s.authn)
		h.SetAuditor(s.elements[0].cfg.ID, s.apiAuditor())
		r.Mount("/", h.Router())
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, r, errs.E(errs.NotExist, errs.Msg("no route %s %s", r.Method, r.URL.Path)))
	})
	return r
}

// ready reports whether every database and element answers.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for dsn, db := range s.dbs {
		name := "database " + redactDSN(dsn)
		if db == s.adminDB {
			name = "admin database"
		}
		if err := db.PingContext(ctx); err != nil {
			checks[name], ok = "unavailable: "+err.Error(), false
		} else {
			checks[name] = "ok"
		}
	}
	for _, e := range s.elements {
		if err := e.el.Ready(ctx); err != nil {
			checks["element "+e.cfg.ID], ok = "unavailable: "+err.Error(), false
		} else {
			checks["element "+e.cfg.ID] = "ok"
		}
	}
	status, code := "ready", http.StatusOK
	if !ok {
		status, code = "not_ready", http.StatusServiceUnavailable
	}
	api.WriteJSON(w, code, map[string]any{"status": status, "checks": checks})
}

func redactDSN(dsn string) string {
	if sqldb.IsPostgresDSN(dsn) {
		return "(postgres)"
	}
	return dsn
}

// recoverer turns a panic in a handler into a logged 500, so that one bad
// request cannot take the process down.
func recoverer(s *Server) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v)
					api.WriteError(w, r, errs.E(errs.Internal, errs.Msg("panic")))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}
