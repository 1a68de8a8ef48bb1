package admin

import (
	"net/http"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/ratelimit"
)

// SetAuditor makes the service record its events with a.
func (s *Service) SetAuditor(a api.Auditor) { s.auditor = a }

// SetGuard makes the token endpoint count attempts with g and refuse them
// over its limits.
func (s *Service) SetGuard(g *ratelimit.Guard) { s.guard = g }

// auditResult records an operation's outcome.
func (s *Service) auditResult(r *http.Request, action, target string, err error) {
	api.Audit(s.auditor, r, action, target, err)
}

func sourceOf(r *http.Request) string { return ratelimit.SourceAddr(r) }

// listParams reads the query of a list route: role, status, q, limit and
// offset; any other parameter is Invalid.
func listParams(r *http.Request) (role, status, q string, limit, offset int, err error) {
	if limit, offset, err = api.ParsePage(r); err != nil {
		return
	}
	for k, v := range r.URL.Query() {
		switch k {
		case "role":
			role = v[0]
		case "status":
			status = v[0]
		case "q":
			q = v[0]
		case "limit", "offset":
		default:
			err = errs.E(errs.Invalid, errs.Msg("unknown parameter %q", errs.Brief(k)))
			return
		}
	}
	return
}
