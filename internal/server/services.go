package server

import (
	"context"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/bus"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/follow"
	"github.com/artstore/artstore/internal/gc"
	"github.com/artstore/artstore/internal/ingest"
	"github.com/artstore/artstore/internal/query"
	"github.com/artstore/artstore/internal/reconcile"
	"github.com/artstore/artstore/internal/sehttp"
)

// openServices opens what the admin, ingest and query roles share: the
// fleet of every element this process reaches, the file catalog and the
// follower that keeps the catalog in step with the elements' journals.
func (s *Server) openServices(ctx context.Context) error {
	if s.cfg.Bus.RedisURL != "" {
		r, err := bus.OpenRedis(ctx, s.cfg.Bus.RedisURL, s.log)
		if err != nil {
			return err
		}
		s.redis = r
	}
	s.fleet = fleet.New(0)
	for _, e := range s.elements {
		s.fleet.Add(e.cfg.ID, s.metrics.Element(e.cfg.ID, e.el))
	}
	var tokens api.TokenSource
	for _, ec := range s.cfg.Elements {
		if !ec.Remote() {
			continue
		}
		if tokens == nil {
			tokens = &api.ClientCredentials{TokenURL: s.cfg.Auth.TokenURL, ClientID: s.cfg.Auth.ClientID, ClientSecret: s.cfg.Auth.ClientSecret}
		}
		s.fleet.Add(ec.ID, sehttp.NewClient(ec.URL, tokens, nil))
	}
	if !s.cfg.Has(config.RoleAdmin) && !s.cfg.Has(config.RoleIngest) && !s.cfg.Has(config.RoleQuery) {
		return nil
	}
	db, err := s.db(ctx, s.cfg.CatalogURL)
	if err != nil {
		return err
	}
	if s.catalog, err = catalog.Open(ctx, db); err != nil {
		return err
	}
	s.follower = follow.New(s.catalog, s.fleet, follow.Config{Logger: s.log,
		Rebuilt: func(ctx context.Context, id string) { s.reconciler.Element(ctx, id) }})
	s.reconciler = reconcile.New(s.catalog, s.fleet, s.log)
	if s.cfg.Has(config.RoleAdmin) {
		s.gc = gc.New(s.catalog, s.fleet, s.log, s.metrics.Registry())
		s.gc.SetAuditor(s.apiAuditor())
	}
	if s.cfg.Has(config.RoleIngest) {
		s.ingest, err = ingest.New(ctx, s.fleet, s.catalog, db, ingest.Config{
			FinalizeMargin: time.Duration(s.cfg.FinalizeMargin), Logger: s.log})
		if err != nil {
			return err
		}
		if err := s.ingest.Recover(ctx); err != nil {
			return err
		}
		s.ingest.SetAuditor(s.apiAuditor())
		if s.gc != nil {
			s.gc.SetSweeper(s.ingest.Sweep)
		}
	}
	if s.cfg.Has(config.RoleQuery) {
		s.query = query.New(s.catalog, s.fleet)
	}
	return nil
}

// startBackground starts the follower; Close stops it.
func (s *Server) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBg = cancel
	if s.follower != nil {
		s.goBg(func() { s.follower.Run(ctx) })
	}
	s.startRegistry(ctx)
	if s.redis != nil {
		s.startRedis(ctx)
	}
	if s.ingest != nil && s.gc == nil {
		// Without the admin role's collector, ingest removes finalized
		// files' temporary copies itself.
		s.every(ctx, 10*time.Minute, "removing finalized files' temporary copies", func(ctx context.Context) error {
			_, err := s.ingest.Sweep(ctx)
			return err
		})
	}
	if s.reconciler != nil {
		s.every(ctx, time.Duration(s.cfg.ReconcileInterval), "reconciliation", func(ctx context.Context) error {
			s.reconciler.Run(ctx)
			return nil
		})
	}
	if s.admin != nil {
		s.every(ctx, time.Hour, "signing key rotation", func(ctx context.Context) error {
			_, err := s.admin.RotateIfDue(ctx)
			return err
		})
		s.every(ctx, time.Hour, "purging expired tokens", func(ctx context.Context) error {
			_, err := s.admin.PurgeTokens(ctx)
			return err
		})
	}
	if s.gc != nil {
		s.every(ctx, time.Duration(s.cfg.GC.Interval), "garbage collection", func(ctx context.Context) error {
			_, err := s.gc.Run(ctx)
			return err
		})
	}
}

// every runs fn every interval (never when interval is not positive) in
// the background until Close, logging its failures.
func (s *Server) every(ctx context.Context, interval time.Duration, what string, fn func(context.Context) error) {
	if interval <= 0 {
		return
	}
	s.goBg(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn(what+" failed", "err", err)
				}
			}
		}
	})
}

// startRedis runs the relay of this process's own elements' journals to
// Redis, the catalog's subscription, and the trimming of the stream.
func (s *Server) startRedis(ctx context.Context) {
	if len(s.elements) > 0 {
		local := fleet.New(0)
		for _, e := range s.elements {
			local.Add(e.cfg.ID, e.el)
		}
		relay := follow.New(s.redis, local, follow.Config{Logger: s.log.With("component", "relay"), FromHead: true})
		s.goBg(func() { relay.Run(ctx) })
	}
	if s.follower != nil {
		group := "catalog:" + s.cfg.Bus.Consumer
		s.goBg(func() {
			s.redis.Subscribe(ctx, group, s.cfg.Bus.Consumer, func(ctx context.Context, ev bus.Event) error {
				return s.follower.Offer(ctx, ev.ElementID, ev.JournalID, artstore.Change{
					Seq: ev.Seq, Type: ev.Type, FileID: ev.FileID, Version: ev.Version, At: ev.At, File: ev.File})
			})
		})
	}
	if s.cfg.Has(config.RoleAdmin) {
		s.every(ctx, time.Minute, "trimming the event stream", func(ctx context.Context) error {
			_, err := s.redis.Trim(ctx)
			return err
		})
	}
}

// goBg runs fn in the background until Close.
func (s *Server) goBg(fn func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn()
	}()
}

// Ingest returns the process's ingest service, or nil.
func (s *Server) Ingest() *ingest.Service { return s.ingest }

// Catalog returns the process's file catalog, or nil.
func (s *Server) Catalog() *catalog.Catalog { return s.catalog }
