package admin

import (
	"net/http"

	"github.com/artstore/artstore/internal/api"
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
