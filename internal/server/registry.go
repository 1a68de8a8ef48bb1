package server

import (
	"context"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/seregistry"
)

// openRegistry opens the storage-element registry of the admin role and
// registers the elements this process runs, at PUBLIC_URL/elements/ID.
func (s *Server) openRegistry(ctx context.Context) error {
	if s.admin == nil {
		return nil
	}
	r, err := seregistry.Open(ctx, s.adminDB, s.admin.SystemTokens(), seregistry.Config{
		PollInterval: time.Duration(s.cfg.RegistryPoll), Logger: s.log, Auditor: s.apiAuditor()})
	if err != nil {
		return err
	}
	s.registry = r
	for _, e := range s.elements {
		el, _ := s.fleet.Get(e.cfg.ID)
		if _, err := r.RegisterLocal(ctx, el, s.cfg.PublicURL+"/elements/"+e.cfg.ID); err != nil {
			return err
		}
	}
	return s.syncFleet(ctx)
}

// syncFleet adds the registered elements to the fleet that ingest, query
// and the catalog's follower use, with the registry's priorities: a newly
// registered element starts receiving uploads and being followed.
func (s *Server) syncFleet(ctx context.Context) error {
	entries, err := s.registry.Entries(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !s.fleet.Has(e.ElementID) {
			if el, ok := s.registry.Element(e.ElementID); ok {
				s.fleet.Add(e.ElementID, el)
			}
		}
		s.fleet.SetPriority(e.ElementID, e.Priority)
	}
	return nil
}

// startRegistry polls the registered elements and keeps the fleet in step;
// a standalone storage process instead registers its elements with the
// admin service, retrying until it answers.
func (s *Server) startRegistry(ctx context.Context) {
	if s.registry != nil {
		s.goBg(func() { s.registry.Run(ctx) })
		s.every(ctx, time.Duration(s.cfg.RegistryPoll), "updating the fleet from the registry", s.syncFleet)
		return
	}
	if s.cfg.AdminURL == "" || !s.cfg.Has(config.RoleStorage) {
		return
	}
	tokens := &api.ClientCredentials{TokenURL: s.cfg.AdminURL + "/api/v1/auth/token", ClientID: s.cfg.Auth.ClientID, ClientSecret: s.cfg.Auth.ClientSecret}
	for _, e := range s.elements {
		url := s.cfg.PublicURL + "/elements/" + e.cfg.ID
		s.goBg(func() {
			for ctx.Err() == nil {
				err := seregistry.SelfRegister(ctx, s.cfg.AdminURL, tokens, url)
				if err == nil {
					s.log.Info("registered with the admin service", "element", e.cfg.ID, "url", url)
					return
				}
				s.log.Warn("registering with the admin service; retrying", "element", e.cfg.ID, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
			}
		})
	}
}
