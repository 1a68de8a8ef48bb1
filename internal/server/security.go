package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/admin"
	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/ratelimit"
	"github.com/artstore/artstore/internal/sqldb"
)

// openSecurity sets up what guards every route: per-account rate limits,
// the token endpoint's guard against guessing, and the audit log. Limits
// are shared through Redis when the bus uses it, else through the admin
// database when that is PostgreSQL, else kept in this process.
func (s *Server) openSecurity(ctx context.Context) error {
	switch {
	case s.cfg.Bus.RedisURL != "":
		r, err := ratelimit.NewRedis(s.cfg.Bus.RedisURL)
		if err != nil {
			return err
		}
		s.limits, s.closers = r, append(s.closers, r.Close)
	case sqldb.IsPostgresDSN(s.cfg.DatabaseURL):
		db, err := s.db(ctx, s.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if s.limits, err = ratelimit.NewSQL(ctx, db); err != nil {
			return err
		}
	default:
		s.limits = ratelimit.NewMemory()
	}
	s.authn = &limitedAuthn{Authenticator: s.authn, store: s.limits, log: s.log}
	if s.admin != nil {
		s.admin.SetGuard(ratelimit.NewGuard(s.limits, ratelimit.GuardConfig{
			PerClient: s.cfg.Auth.GuardPerClient, PerSource: s.cfg.Auth.GuardPerSource}))
	}
	if s.adminDB == nil && !sqldb.IsPostgresDSN(s.cfg.DatabaseURL) {
		return nil // no audit log within reach
	}
	key, err := auditKey(s.cfg, s.adminDB != nil)
	if err != nil {
		return err
	}
	if key == nil {
		s.log.Warn("no audit key (ARTSTORE_AUDIT_KEY): this process records no audit events")
		return nil
	}
	db, err := s.db(ctx, s.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	l, err := audit.Open(ctx, db, key)
	if err != nil {
		return err
	}
	s.auditLog = l
	s.auditor = &auditor{log: l, slog: s.log}
	if s.admin != nil {
		s.admin.SetAuditor(s.auditor)
	}
	return nil
}

// auditKey is the configured key, or else the key in DATA/audit.key, which
// a process with the admin role (create) makes on first start.
func auditKey(cfg config.Config, create bool) ([]byte, error) {
	if k := cfg.Auth.AuditKey; k != "" {
		key, err := hex.DecodeString(k)
		if err != nil || len(key) < audit.MinKeyBytes {
			return nil, errs.E("server.auditKey", errs.Invalid, errs.Msg("the audit key must be at least %d bytes in hex", audit.MinKeyBytes))
		}
		return key, nil
	}
	path := filepath.Join(cfg.DataDir, "audit.key")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) && !create {
		return nil, nil
	}
	if os.IsNotExist(err) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := admin.WriteFileDurably(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, errs.E("server.auditKey", errs.Invalid, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, errs.E("server.auditKey", errs.Invalid, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < audit.MinKeyBytes {
		return nil, errs.E("server.auditKey", errs.Invalid, errs.Msg("%s does not hold a hex key of at least %d bytes", path, audit.MinKeyBytes))
	}
	return key, nil
}

// limitedAuthn adds per-account rate limits to an Authenticator: every
// authenticated request counts against the caller's requests per minute
// (the token's rate_limit claim).
type limitedAuthn struct {
	api.Authenticator
	store ratelimit.Store
	log   *slog.Logger
}

// Admit implements api.Limiter. A store that cannot answer lets the
// request through: limits protect the service, they are not worth an
// outage of their own.
func (l *limitedAuthn) Admit(w http.ResponseWriter, r *http.Request, p artstore.Principal) bool {
	limit := p.RateLimit
	if limit <= 0 {
		limit = admin.DefaultRateLimit
	}
	key := "account:" + p.Subject
	d, err := l.store.Take(r.Context(), key, limit, time.Minute)
	if err != nil {
		l.log.Warn("rate limit store unavailable; letting the request through", "err", err)
		return true
	}
	if !d.Allowed {
		ratelimit.WriteLimited(w, d, time.Minute)
		return false
	}
	ratelimit.SetHeaders(w.Header(), d)
	return true
}

// auditor records events in the audit log.
type auditor struct {
	log  *audit.Log
	slog *slog.Logger
}

// Event implements api.Auditor.
func (a *auditor) Event(r *http.Request, action, target string, err error) {
	rec := audit.Record{Action: action, Target: clip(target), Outcome: audit.OutcomeSuccess}
	ctx := context.Background()
	switch {
	case r == nil: // the system's own background work
		rec.Actor, rec.ActorRole, rec.SourceAddr, rec.RequestID = "system", "system", "-", "-"
	default:
		ctx = r.Context()
		rec.SourceAddr, rec.RequestID = audit.FromRequest(r)
		if p, ok := artstore.PrincipalFrom(ctx); ok {
			rec.Actor, rec.ActorRole = p.Subject, string(p.Role)
		} else {
			rec.Actor, rec.ActorRole = clip(target), "anonymous" // an authentication attempt names itself
		}
	}
	switch {
	case err == nil:
	case errs.Is(errs.Permission, err):
		rec.Outcome, rec.Detail = audit.OutcomeDenied, clip(err.Error())
	default:
		rec.Outcome, rec.Detail = audit.OutcomeFailure, clip(err.Error())
	}
	if _, err := a.log.Append(context.WithoutCancel(ctx), rec); err != nil {
		a.slog.Error("recording an audit event failed", "action", action, "err", err)
	}
}

// clip keeps an audit field within the log's limits.
func clip(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	if len(s) > 1000 {
		s = s[:1000]
		s = strings.ToValidUTF8(s, "")
	}
	if s == "" {
		s = "-"
	}
	return s
}

// OpenAuditLog opens the audit log of a configuration offline, for
// `artstore audit verify`.
func OpenAuditLog(ctx context.Context, cfg config.Config) (*audit.Log, func(), error) {
	key, err := auditKey(cfg, false)
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		return nil, nil, errs.E("server.OpenAuditLog", errs.NotExist, errs.Msg("no audit key: set ARTSTORE_AUDIT_KEY or run where DATA/audit.key is"))
	}
	db, err := sqldb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	l, err := audit.Open(ctx, db, key)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return l, func() { db.Close() }, nil
}

// apiAuditor is the process's auditor, or nil (not a nil *auditor, which
// api.Audit would call).
func (s *Server) apiAuditor() api.Auditor {
	if s.auditor == nil {
		return nil
	}
	return s.auditor
}
