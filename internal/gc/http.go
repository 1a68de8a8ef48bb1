package gc

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
)

// Routes registers POST /api/v1/gc/run (role admin), which collects now and
// answers with the report.
func (c *Collector) Routes(r chi.Router, authn api.Authenticator) {
	r.With(api.Allow(authn, api.AdminRoles...)).Post("/api/v1/gc/run", func(w http.ResponseWriter, r *http.Request) {
		rep, err := c.Run(r.Context())
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, rep)
	})
}
