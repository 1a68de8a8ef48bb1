// Package ingest is the write path of ArtStore: it takes uploads from
// applications, chooses the storage element by retention policy and
// sequential fill, streams the content straight through to it, and routes
// metadata updates and deletes to the element that owns a file.
package ingest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/naming"
	"github.com/artstore/artstore/internal/sqldb"
)

// Registry is where ingest finds which element owns a file, and records
// what it changed so that the caller's next read sees it at once. The
// journals reach the registry anyway; recording is only an early copy,
// and the registry's version rules make the two agree.
type Registry interface {
	Get(ctx context.Context, fileID string) (*artstore.File, error)
	Put(ctx context.Context, f *artstore.File) error
	Remove(ctx context.Context, elementID, fileID string, version int64) error
}

// Defaults and bounds of the time-to-live of temporary files.
const (
	DefaultTTLDays = 30
	MinTTLDays     = 1
	MaxTTLDays     = 365
)

// Service is the ingest service.
type Service struct {
	fleet    *fleet.Fleet
	registry Registry
	fin      *finalizer
	auditor  api.Auditor
	log      *slog.Logger
	now      func() time.Time

	// finalizing holds the finalizes this process began: true while one
	// runs, false once it returned without settling (see Sweep).
	finMu      sync.Mutex
	finalizing map[string]bool
}

// Config tunes the ingest service.
type Config struct {
	// FinalizeMargin is how long a finalized file's temporary copy is
	// kept; DefaultMargin when zero.
	FinalizeMargin time.Duration
	Logger         *slog.Logger
}

// New returns an ingest service over the fleet's elements, keeping the
// state of finalizes in db.
func New(ctx context.Context, fl *fleet.Fleet, reg Registry, db *sqldb.DB, cfg Config) (*Service, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	fin, err := openFinalizer(ctx, db, cfg.FinalizeMargin)
	if err != nil {
		return nil, errs.E("ingest.New", err)
	}
	return &Service{fleet: fl, registry: reg, fin: fin, log: log, now: time.Now, finalizing: map[string]bool{}}, nil
}

// SetAuditor makes the service record deletes and finalizes with a.
func (s *Service) SetAuditor(a api.Auditor) { s.auditor = a }

// SetFinalizeHook makes every durable step of a finalize call fn with the
// step's name ("begun", "copied"); an error stops the finalize there, as a
// crash would. For tests.
func (s *Service) SetFinalizeHook(fn func(step string) error) { s.fin.hook = fn }

// UploadRequest is what an application says about a file it uploads.
type UploadRequest struct {
	// The file as the element is to store it. Ingest chooses the element
	// and sets ExpiresAt; a retention policy left empty is temporary.
	// FileID, ExpectChecksum and Preserve are the element's business and
	// stay empty.
	artstore.NewFile
	TTLDays int // 0: the default; temporary files only
}

// Upload stores a new file on the first element, in sequential-fill order,
// of the mode its retention policy needs: temporary files on edit
// elements, permanent ones on rw elements. An element that turns out to be
// full, unreachable or no longer writable before any content was sent to
// it is skipped; when none is left the error is Unavailable with the code
// NO_STORAGE_AVAILABLE. With a declared size an element refuses a file it
// has no room for before reading any of it, so the upload moves on; a file
// of unknown size that overfills an element fails.
func (s *Service) Upload(ctx context.Context, req UploadRequest, content io.Reader) (*artstore.File, error) {
	const op = "ingest.Upload"
	nf, mode, err := s.newFile(req)
	if err != nil {
		return nil, errs.E(op, err)
	}
	cr := &countingReader{r: content}
	for _, c := range s.fleet.Candidates(ctx, mode, req.Size) {
		f, err := c.Element.Upload(ctx, nf, cr)
		if err == nil {
			if rerr := s.registry.Put(ctx, f); rerr != nil {
				s.log.Warn("recording an upload in the registry; the journal will bring it", "file_id", f.FileID, "err", rerr)
			}
			return f, nil
		}
		if cr.n > 0 || ctx.Err() != nil || !skippable(err) {
			return nil, errs.E(op, err)
		}
		s.log.Info("storage element refused an upload; trying the next", "element", c.ID, "err", err)
		s.fleet.Invalidate(c.ID)
	}
	return nil, errs.E(op, errs.Unavailable, errs.Code("NO_STORAGE_AVAILABLE"),
		errs.Msg("no %s storage element can take this file now", mode))
}

// skippable tells whether an element's refusal lets the upload try the
// next element: it is full, cannot be reached, or is no longer writable.
func skippable(err error) bool {
	return errs.Is(errs.NoSpace, err) || errs.Is(errs.Unavailable, err) ||
		errs.CodeOf(err) == "MODE_NOT_ALLOWED"
}

// newFile checks the request and turns it into what the element needs.
func (s *Service) newFile(req UploadRequest) (artstore.NewFile, artstore.Mode, error) {
	nf := req.NewFile
	nf.FileID, nf.ExpiresAt, nf.ExpectChecksum, nf.Preserve = "", nil, "", nil
	policy := req.RetentionPolicy
	if policy == "" {
		policy = artstore.Temporary
	}
	nf.RetentionPolicy = policy
	switch policy {
	case artstore.Temporary:
		days := req.TTLDays
		if days == 0 {
			days = DefaultTTLDays
		}
		if days < MinTTLDays || days > MaxTTLDays {
			return nf, "", errs.E(errs.Invalid, errs.Msg("ttl_days must be between %d and %d, not %d", MinTTLDays, MaxTTLDays, days))
		}
		exp := s.now().UTC().Add(time.Duration(days) * 24 * time.Hour)
		nf.ExpiresAt = &exp
		return nf, artstore.ModeEdit, nil
	case artstore.Permanent:
		if req.TTLDays != 0 {
			return nf, "", errs.E(errs.Invalid, errs.Msg("ttl_days applies to temporary files only"))
		}
		return nf, artstore.ModeRW, nil
	default:
		return nf, "", errs.E(errs.Invalid, errs.Msg("unknown retention_policy %q: use temporary or permanent", policy))
	}
}

// Update changes a file's description, tags or metadata on the element
// that owns it.
func (s *Service) Update(ctx context.Context, fileID string, p artstore.FilePatch) (*artstore.File, error) {
	const op = "ingest.Update"
	cur, el, err := s.owner(ctx, fileID)
	if err == nil {
		err = s.notFinalizing(ctx, cur.FileID)
	}
	if err != nil {
		return nil, errs.E(op, err)
	}
	f, err := el.Update(ctx, cur.FileID, p)
	if err != nil {
		return nil, errs.E(op, err)
	}
	if rerr := s.registry.Put(ctx, f); rerr != nil {
		s.log.Warn("recording an update in the registry; the journal will bring it", "file_id", f.FileID, "err", rerr)
	}
	return f, nil
}

// Delete deletes a temporary file from the edit element that holds it.
// Permanent files are never deleted by users: Conflict.
func (s *Service) Delete(ctx context.Context, fileID string) error {
	const op = "ingest.Delete"
	cur, el, err := s.owner(ctx, fileID)
	if err != nil {
		return errs.E(op, err)
	}
	if cur.RetentionPolicy != artstore.Temporary {
		return errs.E(op, errs.Conflict, errs.Code("NOT_TEMPORARY"), errs.Msg("file %s is permanent; only temporary files can be deleted", fileID))
	}
	if err := s.notFinalizing(ctx, cur.FileID); err != nil {
		return errs.E(op, err)
	}
	if err := el.Delete(ctx, cur.FileID); err != nil {
		return errs.E(op, err)
	}
	// The element journals the delete with the next version.
	if rerr := s.registry.Remove(ctx, cur.StorageElementID, cur.FileID, cur.Version+1); rerr != nil {
		s.log.Warn("recording a delete in the registry; the journal will bring it", "file_id", fileID, "err", rerr)
	}
	return nil
}

// notFinalizing refuses to change or finalize a file while it is being
// finalized: the copy would miss the change, and carry the version the
// change gives the temporary copy.
func (s *Service) notFinalizing(ctx context.Context, fileID string) error {
	j, err := s.fin.get(ctx, fileID)
	if err != nil {
		return err
	}
	if j != nil && j.State != stateCopied {
		return errs.E(errs.Conflict, errs.Code("FINALIZE_IN_PROGRESS"), errs.Msg("file %s is being finalized; try again when it is done", fileID))
	}
	return nil
}

// owner finds a file and the element that holds it.
func (s *Service) owner(ctx context.Context, fileID string) (*artstore.File, artstore.Element, error) {
	if err := naming.CheckFileID(fileID); err != nil {
		return nil, nil, err
	}
	f, err := s.registry.Get(ctx, fileID)
	if err != nil {
		return nil, nil, err
	}
	el, err := s.fleet.Get(f.StorageElementID)
	if err != nil {
		return nil, nil, errs.E(errs.Unavailable, errs.Msg("file %s is on storage element %s, which this service does not reach", fileID, f.StorageElementID))
	}
	return f, el, nil
}

// countingReader counts the bytes taken from the upload's content, so
// that an upload is only moved to another element when none were.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
