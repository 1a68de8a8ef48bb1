// Package server assembles an artstore process from its configuration: it
// opens the databases and storage elements of the roles the process runs,
// mounts their HTTP APIs on one router with health, metrics and the OpenAPI
// document, and serves them with a graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/admin"
	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/bus"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/follow"
	"github.com/artstore/artstore/internal/gc"
	"github.com/artstore/artstore/internal/ingest"
	"github.com/artstore/artstore/internal/metrics"
	"github.com/artstore/artstore/internal/query"
	"github.com/artstore/artstore/internal/ratelimit"
	"github.com/artstore/artstore/internal/reconcile"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/storage"
)

// Server is one artstore process.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	metrics  *metrics.Metrics
	adminDB  *sqldb.DB
	admin    *admin.Service
	authn    api.Authenticator
	elements []*element
	dbs      map[string]*sqldb.DB // open databases by DSN, shared by elements
	router   chi.Router
	releases []func() // element locks

	catalog    *catalog.Catalog // nil unless admin, ingest or query runs
	fleet      *fleet.Fleet     // every element, local or remote
	follower   *follow.Follower
	ingest     *ingest.Service
	query      *query.Service
	gc         *gc.Collector
	registry   *seregistry.Registry
	limits     ratelimit.Store
	auditLog   *audit.Log
	auditor    *auditor
	closers    []func() error
	reconciler *reconcile.Reconciler
	redis      *bus.Redis
	stopBg     context.CancelFunc
	bg         sync.WaitGroup

	// Bootstrap is set when this start created the bootstrap service
	// account; the caller prints it once.
	Bootstrap *Bootstrap
	// BootstrapAdmin is the path of the bootstrap administrator's
	// credentials when this start created them; the caller prints them once.
	BootstrapAdmin string
}

// Bootstrap is the bootstrap service account's credentials file.
type Bootstrap struct {
	Path     string
	ClientID string
}

type element struct {
	cfg config.Element
	el  *storage.Element
}

// Open opens everything the configured roles need. cfg must be validated.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log, metrics: metrics.New(), dbs: map[string]*sqldb.DB{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, errs.E("server.Open", errs.Invalid, err)
	}
	if cfg.Has(config.RoleAdmin) {
		if err := s.openAdmin(ctx); err != nil {
			return nil, err
		}
	} else {
		keys, err := auth.RemoteJWKS(ctx, cfg.Auth.JWKSURL)
		if err != nil {
			return nil, errs.E("server.Open", err)
		}
		s.authn = auth.NewVerifier(keys, cfg.Auth.Issuer, cfg.Auth.Audience)
	}
	if cfg.Has(config.RoleStorage) {
		for _, ec := range cfg.Elements {
			if ec.Remote() {
				continue
			}
			el, err := s.openElement(ctx, ec)
			if err != nil {
				return nil, errs.E("server.Open", errs.Msg("element %s: %w", ec.ID, err))
			}
			s.elements = append(s.elements, &element{cfg: ec, el: el})
		}
	}
	if err := s.openSecurity(ctx); err != nil {
		return nil, err
	}
	if err := s.openServices(ctx); err != nil {
		return nil, err
	}
	if err := s.openRegistry(ctx); err != nil {
		return nil, err
	}
	s.router = s.routes()
	s.startBackground()
	return s, nil
}

func (s *Server) openAdmin(ctx context.Context) error {
	db, err := s.db(ctx, s.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	s.adminDB = db
	s.admin, err = admin.Open(ctx, db, admin.Config{
		Issuer:            s.cfg.Auth.Issuer,
		Audience:          s.cfg.Auth.Audience,
		TokenTTL:          time.Duration(s.cfg.Auth.TokenTTL),
		SecretTTL:         time.Duration(s.cfg.Auth.SecretTTL),
		KeyRotation:       time.Duration(s.cfg.Auth.KeyRotation),
		BootstrapClientID: s.cfg.Auth.BootstrapClientID,
	})
	if err != nil {
		return err
	}
	v := auth.NewVerifier(auth.Local(s.admin), s.cfg.Auth.Issuer, s.cfg.Auth.Audience)
	v.SetRevocation(s.admin.Revoked)
	s.authn = v
	clientID, created, err := s.admin.Bootstrap(ctx, s.cfg.DataDir)
	if err != nil {
		return err
	}
	if created {
		s.Bootstrap = &Bootstrap{Path: filepath.Join(s.cfg.DataDir, admin.BootstrapFile), ClientID: clientID}
	}
	userCreated, err := s.admin.BootstrapUser(ctx, s.cfg.DataDir)
	if err != nil {
		return err
	}
	if userCreated {
		s.BootstrapAdmin = filepath.Join(s.cfg.DataDir, admin.BootstrapAdminFile)
	}
	return nil
}

// db opens a database once per DSN: elements may share one PostgreSQL.
func (s *Server) db(ctx context.Context, dsn string) (*sqldb.DB, error) {
	if db, ok := s.dbs[dsn]; ok {
		return db, nil
	}
	if !sqldb.IsPostgresDSN(dsn) {
		if err := os.MkdirAll(dirOf(dsn), 0o750); err != nil {
			return nil, errs.E("server.db", errs.Invalid, err)
		}
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s.dbs[dsn] = db
	return db, nil
}

// Handler returns the process's HTTP handler.
func (s *Server) Handler() http.Handler { return s.router }

// Elements returns the process's storage elements.
func (s *Server) Elements() []artstore.Element {
	out := make([]artstore.Element, len(s.elements))
	for i, e := range s.elements {
		out[i] = e.el
	}
	return out
}

// Serve serves on ln until ctx is done, then shuts down gracefully:
// requests in flight finish (up to the shutdown timeout) before the
// elements close, so nothing is left half-written.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		MaxHeaderBytes:    s.cfg.Limits.MaxHeaderBytes,
		ReadHeaderTimeout: time.Duration(s.cfg.Limits.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(s.cfg.Limits.IdleTimeout),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", time.Duration(s.cfg.Shutdown))
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.Shutdown))
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown timed out; closing the remaining connections")
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the background work and closes the elements and databases.
func (s *Server) Close() error {
	if s.stopBg != nil {
		s.stopBg()
		s.bg.Wait()
	}
	var errList []error
	for _, e := range s.elements {
		errList = append(errList, e.el.Close())
	}
	for _, db := range s.dbs {
		errList = append(errList, db.Close())
	}
	if s.redis != nil {
		errList = append(errList, s.redis.Close())
	}
	for _, c := range s.closers {
		errList = append(errList, c())
	}
	for _, release := range s.releases {
		release()
	}
	return errors.Join(errList...)
}

// BaseURL is the URL of a listener, for messages.
func BaseURL(ln net.Listener) string { return fmt.Sprintf("http://%s", ln.Addr()) }
