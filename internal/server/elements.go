package server

import (
	"context"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/local"
	"github.com/artstore/artstore/internal/blob/s3"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/storage"
)

// openElement opens the backend, database and element of ec.
func (s *Server) openElement(ctx context.Context, ec config.Element) (*storage.Element, error) {
	release, err := lockElement(s.cfg.DataDir, ec.ID)
	if err != nil {
		return nil, err
	}
	s.releases = append(s.releases, release)
	backend, err := openBackend(ctx, ec)
	if err != nil {
		return nil, err
	}
	db, err := s.db(ctx, ec.DatabaseURL)
	if err != nil {
		backend.Close()
		return nil, err
	}
	el, err := storage.Open(ctx, storage.Config{
		ID:       ec.ID,
		Mode:     ec.Mode,
		Priority: ec.Priority,
		Capacity: int64(ec.Capacity),
		Logger:   s.log,
	}, backend, db)
	if err != nil {
		backend.Close()
		return nil, err
	}
	return el, nil
}

// openBackend opens the blob backend an element is configured with.
func openBackend(ctx context.Context, ec config.Element) (blob.Backend, error) {
	if ec.S3 != nil {
		return s3.Open(ctx, s3.Config{
			Endpoint:  ec.S3.Endpoint,
			Bucket:    ec.S3.Bucket,
			Prefix:    ec.S3.Prefix,
			Region:    ec.S3.Region,
			AccessKey: ec.S3.AccessKey,
			SecretKey: ec.S3.SecretKey,
			Secure:    strings.HasPrefix(ec.S3.Endpoint, "https://"),
		})
	}
	return local.Open(ec.Path)
}

func dirOf(dsn string) string { return filepath.Dir(strings.TrimPrefix(dsn, "sqlite:")) }

// OpenElement opens one configured element on its own, for offline tools.
// It takes the element's lock, so it fails while a server uses the element.
func OpenElement(ctx context.Context, cfg config.Config, id string, log *slog.Logger) (*storage.Element, func(), error) {
	s := &Server{cfg: cfg, log: log, dbs: map[string]*sqldb.DB{}}
	for _, ec := range cfg.Elements {
		if ec.ID == id {
			el, err := s.openElement(ctx, ec)
			if err != nil {
				s.Close()
				return nil, nil, err
			}
			s.elements = append(s.elements, &element{cfg: ec, el: el})
			return el, func() { s.Close() }, nil
		}
	}
	return nil, nil, errs.E("server.OpenElement", errs.NotExist, errs.Msg("no element %q is configured", id))
}
