package ingest

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// DefaultMargin is how long a finalized file's temporary copy is kept
// after the permanent copy is in place.
const DefaultMargin = 24 * time.Hour

// The states of a finalize.
const (
	stateCopying = "copying" // the permanent copy is being written
	stateCopied  = "copied"  // the registry points at the permanent copy
	// A rollback claims the finalize before it removes the copy, so that
	// no other process completes it meanwhile, nor it one another process
	// completed.
	stateRollingBack = "rolling_back"
	// Once the temporary copy is gone, the finalize's row is deleted.
)

// finalizer keeps the durable state of finalizes in the database.
type finalizer struct {
	db     *sqldb.DB
	margin time.Duration
	// hook, when set, is called after each durable step; tests use it to
	// stop a finalize there, as a crash would.
	hook func(step string) error
}

func openFinalizer(ctx context.Context, db *sqldb.DB, margin time.Duration) (*finalizer, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "ingest_schema_version"); err != nil {
		return nil, err
	}
	if margin <= 0 {
		margin = DefaultMargin
	}
	return &finalizer{db: db, margin: margin}, nil
}

type job struct {
	FileID, Source, Target, State, Checksum string
	RemoveAfter                             time.Time
	Begun                                   time.Time
}

// jobColumns are the columns scanJob reads.
const jobColumns = `file_id, source_element, target_element, state, checksum, remove_after, created_at`

func scanJob(scan func(dest ...any) error) (job, error) {
	var (
		j         job
		ra, begun int64
	)
	err := scan(&j.FileID, &j.Source, &j.Target, &j.State, &j.Checksum, &ra, &begun)
	j.RemoveAfter, j.Begun = time.Unix(0, ra).UTC(), time.Unix(0, begun).UTC()
	return j, err
}

func (f *finalizer) get(ctx context.Context, fileID string) (*job, error) {
	j, err := scanJob(f.db.QueryRowContext(ctx, f.db.Rebind(`SELECT `+jobColumns+` FROM ingest_finalize WHERE file_id = ?`), fileID).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	return &j, nil
}

// begin records a new finalize; it fails with Conflict when one exists.
func (f *finalizer) begin(ctx context.Context, j *job) error {
	_, err := f.db.ExecContext(ctx, f.db.Rebind(`INSERT INTO ingest_finalize (file_id, source_element, target_element, state, checksum, created_at, remove_after) VALUES (?, ?, ?, ?, ?, ?, 0)`),
		j.FileID, j.Source, j.Target, stateCopying, j.Checksum, j.Begun.UnixNano())
	if err != nil {
		if cur, gerr := f.get(ctx, j.FileID); gerr == nil && cur != nil {
			return errs.E(errs.Conflict, errs.Code("FINALIZE_IN_PROGRESS"), errs.Msg("file %s is being finalized", j.FileID))
		}
		return errs.E(errs.Unavailable, err)
	}
	return nil
}

// copied records that the permanent copy of a finalize that is copying is
// in place. It fails with Conflict when the finalize is no longer copying:
// a sweep settled it meanwhile and may have removed the copy.
func (f *finalizer) copied(ctx context.Context, fileID string, removeAfter time.Time) error {
	return f.move(ctx, fileID, stateCopied, removeAfter.UnixNano(), stateCopying)
}

// claim records that a rollback of a finalize that is copying (or whose
// rollback was interrupted) begins. It fails with Conflict when the
// finalize was completed or settled meanwhile.
func (f *finalizer) claim(ctx context.Context, fileID string) error {
	return f.move(ctx, fileID, stateRollingBack, 0, stateCopying, stateRollingBack)
}

// move puts a finalize that is in one of the states from into state to,
// with the given remove_after, in one statement, so that of two processes
// settling it only one succeeds; the other gets Conflict.
func (f *finalizer) move(ctx context.Context, fileID, to string, removeAfter int64, from ...string) error {
	in, inArgs := stateIn(from)
	res, err := f.db.ExecContext(ctx, f.db.Rebind(`UPDATE ingest_finalize SET state = ?, remove_after = ? WHERE file_id = ? AND `+in),
		append([]any{to, removeAfter, fileID}, inArgs...)...)
	if err != nil {
		return errs.E(errs.Unavailable, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, errs.Code("FINALIZE_SETTLED"), errs.Msg("the finalize of %s was settled by another process meanwhile", fileID))
	}
	return nil
}

// stateIn returns the condition that a finalize is in one of states, and
// its arguments.
func stateIn(states []string) (string, []any) {
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	return "state IN (?" + strings.Repeat(", ?", len(states)-1) + ")", args
}

func (f *finalizer) drop(ctx context.Context, fileID string) error {
	_, err := f.db.ExecContext(ctx, f.db.Rebind(`DELETE FROM ingest_finalize WHERE file_id = ?`), fileID)
	if err != nil {
		return errs.E(errs.Unavailable, err)
	}
	return nil
}

// list returns the finalizes in one of states, with before set only
// those whose temporary copy may be removed by then.
func (f *finalizer) list(ctx context.Context, states []string, before time.Time) ([]job, error) {
	in, args := stateIn(states)
	q := `SELECT ` + jobColumns + ` FROM ingest_finalize WHERE ` + in
	if !before.IsZero() {
		q += ` AND remove_after <= ?`
		args = append(args, before.UnixNano())
	}
	rows, err := f.db.QueryContext(ctx, f.db.Rebind(q+` ORDER BY file_id`), args...)
	if err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		j, err := scanJob(rows.Scan)
		if err != nil {
			return nil, errs.E(errs.Unavailable, err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (f *finalizer) step(name string) error {
	if f.hook != nil {
		return f.hook(name)
	}
	return nil
}

// Finalize turns a temporary file into a permanent one: it copies the file
// from its edit element to an rw element under the same file_id with all
// its metadata and a higher version, checks the copy's SHA-256 against the
// source's, points the registry at the copy, and leaves the temporary copy
// for the sweeper to remove after the safety margin. Each step is durable
// before the next, and Recover resumes or rolls back an interrupted one.
// Finalizing a permanent file again returns it unchanged.
func (s *Service) Finalize(ctx context.Context, fileID string) (*artstore.File, error) {
	const op = "ingest.Finalize"
	cur, src, err := s.owner(ctx, fileID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	if err := s.notFinalizing(ctx, fileID); err != nil {
		return nil, errs.E(op, err)
	}
	if cur.RetentionPolicy == artstore.Permanent {
		return cur, nil // finalized already, or uploaded permanent
	}
	// The element's own metadata is the truth about the source.
	sf, err := src.Stat(ctx, cur.FileID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	// The copy goes to another element than the temporary file's, even
	// when that is an rw element (a temporary file uploaded there
	// directly): a copy cannot share an element with its source.
	cands := slices.DeleteFunc(s.fleet.Candidates(ctx, artstore.ModeRW, sf.Size), func(c fleet.Candidate) bool { return c.ID == sf.StorageElementID })
	if len(cands) == 0 {
		return nil, errs.E(op, errs.Unavailable, errs.Code("NO_STORAGE_AVAILABLE"), errs.Msg("no other rw storage element can take the file now"))
	}
	target := cands[0]
	j := &job{FileID: sf.FileID, Source: sf.StorageElementID, Target: target.ID, Checksum: sf.Checksum, Begun: s.now()}
	if err := s.fin.begin(ctx, j); err != nil {
		return nil, errs.E(op, err)
	}
	s.setFinalizing(j.FileID, true)
	settled := false
	defer func() { s.endFinalizing(j.FileID, settled) }()
	if err := s.fin.step("begun"); err != nil {
		return nil, err
	}
	f, err := s.copyFile(ctx, sf, src, target.Element)
	if errs.Is(errs.Exist, err) {
		// The target holds the file already, which this finalize did not
		// write: another process's finalize did (one that shares no
		// database with this one). Its copy, which may be complete and
		// acknowledged, is not this finalize's to remove, nor is the
		// temporary copy to raise above it.
		if derr := s.fin.drop(context.WithoutCancel(ctx), j.FileID); derr == nil {
			settled = true
		}
		return nil, errs.E(op, errs.Conflict, errs.Code("FINALIZE_IN_PROGRESS"),
			errs.Msg("storage element %s holds file %s already: another process is finalizing it or has finalized it", target.ID, fileID))
	}
	if err == nil {
		err = s.fin.step("written")
	}
	if err == nil {
		err = unchanged(ctx, src, sf)
	}
	if err != nil {
		// Nothing must be left on the target; the file stays temporary.
		settled = s.rollback(ctx, j) == nil
		return nil, errs.E(op, err)
	}
	if err := s.fin.step("copied"); err != nil {
		return nil, err
	}
	done, err := s.complete(ctx, j, f)
	settled = err == nil
	if errs.CodeOf(err) == "FINALIZE_SETTLED" {
		return s.settledMeanwhile(ctx, j, f, target.Element, err)
	}
	return done, err
}

// settledMeanwhile answers a finalize whose copy is in place but which
// another process settled while it copied (err): one that completed it,
// taking the copy for complete, makes it a success; one that rolls it back
// may have removed the target's copy before this one was committed, so the
// copy is removed here too, lest it outlive the rollback unseen.
func (s *Service) settledMeanwhile(ctx context.Context, j *job, f *artstore.File, target artstore.Element, err error) (*artstore.File, error) {
	cur, gerr := s.fin.get(ctx, j.FileID)
	switch {
	case gerr != nil:
	case cur != nil && cur.State == stateCopied && cur.Target == j.Target:
		return f, nil
	case cur != nil && cur.State == stateRollingBack:
		if perr := target.Purge(context.WithoutCancel(ctx), j.FileID); perr != nil {
			s.log.Warn("removing the copy of a finalize rolled back meanwhile", "file_id", j.FileID, "err", perr)
		}
	}
	// A finalize already forgotten is left alone: it may as well have
	// completed, its temporary copy removed since.
	return nil, errs.E("ingest.Finalize", err)
}

// unchanged checks that the source is still as it was copied: a change
// that reached it meanwhile (straight through the element's API, or an
// update that raced the finalize's start) would be missing from the copy,
// whose version it would share.
func unchanged(ctx context.Context, src artstore.Element, sf *artstore.File) error {
	now, err := src.Stat(ctx, sf.FileID)
	if err != nil {
		return err
	}
	if now.Version != sf.Version {
		return errs.E(errs.Conflict, errs.Code("FILE_CHANGED"),
			errs.Msg("file %s changed while it was finalized (version %d, copied %d); finalize it again", sf.FileID, now.Version, sf.Version))
	}
	return nil
}

// copyFile writes the permanent copy and checks it.
func (s *Service) copyFile(ctx context.Context, sf *artstore.File, src, dst artstore.Element) (*artstore.File, error) {
	rc, err := src.Open(ctx, sf.FileID, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	nf := artstore.NewFile{
		FileID: sf.FileID, Filename: sf.OriginalFilename, ContentType: sf.ContentType, Size: sf.Size,
		Description: sf.Description, Tags: sf.Tags, Metadata: sf.Metadata,
		RetentionPolicy: artstore.Permanent,
		Preserve:        &artstore.Preserved{UploadedBy: sf.UploadedBy, UploadedAt: sf.UploadedAt, Version: sf.Version + 1},
		// The target checks the SHA-256 before it commits, so a bad copy
		// never becomes visible or reaches its journal.
		ExpectChecksum: sf.Checksum,
		Compression:    sf.Compression,
	}
	f, err := dst.Upload(ctx, nf, io.LimitReader(rc, sf.Size))
	if errs.CodeOf(err) == "CHECKSUM_MISMATCH" {
		return nil, errs.E(errs.Internal, errs.Code("CHECKSUM_MISMATCH"),
			errs.Msg("the temporary copy of %s no longer matches its SHA-256 %s; it was not finalized", sf.FileID, sf.Checksum))
	}
	if err != nil {
		return nil, err
	}
	if f.Checksum != sf.Checksum || f.Size != sf.Size {
		return nil, errs.E(errs.Internal, errs.Code("CHECKSUM_MISMATCH"), errs.Msg("the copy of %s has SHA-256 %s, the source %s", sf.FileID, f.Checksum, sf.Checksum))
	}
	return f, nil
}

// complete schedules the removal of the temporary copy and points the
// registry at the permanent one. The finalize's state changes first, so
// that a finalize a sweep settled meanwhile never reaches the registry;
// the element's journal brings the registry the permanent copy anyway.
func (s *Service) complete(ctx context.Context, j *job, f *artstore.File) (*artstore.File, error) {
	if err := s.fin.copied(ctx, j.FileID, s.now().Add(s.fin.margin)); err != nil {
		return nil, err
	}
	if err := s.registry.Put(ctx, f); err != nil {
		return nil, err
	}
	s.log.Info("finalized", "file_id", f.FileID, "from", j.Source, "to", j.Target)
	return f, nil
}

// rollback removes whatever reached the target and forgets the finalize,
// unless another process completed or settled it meanwhile. On failure the
// finalize stays unsettled, for the next sweep.
func (s *Service) rollback(ctx context.Context, j *job) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.fin.claim(ctx, j.FileID); err != nil {
		if errs.CodeOf(err) == "FINALIZE_SETTLED" {
			return nil // not this rollback's to do
		}
		s.log.Warn("rolling back a failed finalize; the next sweep retries", "file_id", j.FileID, "err", err)
		return err
	}
	var floor int64 // the least version that outranks the copy's removal
	if el, err := s.fleet.Get(j.Target); err == nil && j.Target != j.Source {
		// Only the finalize's own copy is removed: the target commits a
		// copy only once it has the source's SHA-256, and a file there
		// under the same id with other content is another file.
		cp, err := el.Stat(ctx, j.FileID)
		switch {
		case errs.Is(errs.NotExist, err):
		case err != nil:
			s.log.Warn("checking a failed finalize's copy; the next sweep retries", "file_id", j.FileID, "err", err)
			return err
		case cp.Checksum != j.Checksum:
			s.log.Warn("the target of a failed finalize holds another file under its id; left alone", "file_id", j.FileID, "target", j.Target)
		default:
			floor = cp.Version + 2
			if err := el.Purge(ctx, j.FileID); err != nil {
				s.log.Warn("removing a failed finalize's copy; the next sweep retries", "file_id", j.FileID, "err", err)
				return err
			}
		}
	}
	if err := s.raise(ctx, j, floor); err != nil {
		s.log.Warn("raising a failed finalize's temporary copy; the next sweep retries", "file_id", j.FileID, "err", err)
		return err
	}
	if err := s.fin.drop(ctx, j.FileID); err != nil {
		s.log.Warn("forgetting a failed finalize; the next sweep retries", "file_id", j.FileID, "err", err)
		return err
	}
	return nil
}

// raise gives the temporary copy of a rolled-back finalize a version above
// the removal of the permanent copy, at least floor, changing nothing but
// its version and update time. A copy that the target committed was
// journaled above the temporary one, and its removal above that; without
// this, every catalog would take the file for deleted while its temporary
// copy lives on. Whether the copy was committed, and at which version,
// cannot always be known (a crash may have come between its removal and
// this), so a rollback always raises.
func (s *Service) raise(ctx context.Context, j *job, floor int64) error {
	src, err := s.fleet.Get(j.Source)
	if err != nil {
		return nil // an element no longer served: nothing to raise
	}
	f, err := src.Stat(ctx, j.FileID)
	if errs.Is(errs.NotExist, err) {
		return nil // expired or deleted meanwhile
	}
	if err != nil {
		return err
	}
	// Unless the copy changed after it was written, it had f's version
	// plus one at most, and its removal plus two.
	f, err = src.Update(ctx, j.FileID, artstore.FilePatch{MinVersion: max(f.Version+3, floor)})
	if errs.Is(errs.NotExist, err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.registry.Put(ctx, f); err != nil {
		s.log.Warn("recording a raised temporary copy in the registry; the journal will bring it", "file_id", f.FileID, "err", err)
	}
	return nil
}

// staleFinalize is how old an unsettled finalize that another process
// began must be before this one settles it: such a copy may still be
// running there.
const staleFinalize = time.Hour

// setFinalizing records whether a finalize this process began runs.
func (s *Service) setFinalizing(fileID string, running bool) {
	s.finMu.Lock()
	defer s.finMu.Unlock()
	s.finalizing[fileID] = running
}

// endFinalizing records that a finalize this process began has returned:
// settled (completed or rolled back), or left for the next sweep.
func (s *Service) endFinalizing(fileID string, settled bool) {
	if settled {
		s.finMu.Lock()
		delete(s.finalizing, fileID)
		s.finMu.Unlock()
		return
	}
	s.setFinalizing(fileID, false)
}

// Recover resumes or rolls back the finalizes a crash interrupted: a copy
// that is complete and matches the source's checksum is switched to, any
// other is removed from the target. It runs before the service serves.
func (s *Service) Recover(ctx context.Context) error {
	return s.settle(ctx, func(*job) bool { return true })
}

// settle resumes or rolls back the unsettled finalizes that should says
// may be settled now.
func (s *Service) settle(ctx context.Context, should func(*job) bool) error {
	jobs, err := s.fin.list(ctx, []string{stateCopying, stateRollingBack}, time.Time{})
	if err != nil {
		return err
	}
	for i := range jobs {
		j := &jobs[i]
		if !should(j) {
			continue
		}
		if j.State == stateRollingBack {
			// An interrupted rollback may have raised the temporary copy
			// already: it is finished, never undone.
			if s.rollback(ctx, j) == nil {
				s.endFinalizing(j.FileID, true)
				s.log.Info("finished an interrupted rollback of a finalize", "file_id", j.FileID)
			}
			continue
		}
		el, err := s.fleet.Get(j.Target)
		if err != nil {
			continue
		}
		f, err := el.Stat(ctx, j.FileID)
		switch {
		case err == nil && f.Checksum == j.Checksum && f.RetentionPolicy == artstore.Permanent:
			if _, err := s.complete(ctx, j, f); err != nil {
				s.log.Warn("resuming an interrupted finalize; the next sweep retries", "file_id", j.FileID, "err", err)
				continue
			}
			s.endFinalizing(j.FileID, true)
			s.log.Info("resumed an interrupted finalize", "file_id", j.FileID)
		case err == nil || errs.Is(errs.NotExist, err):
			if s.rollback(ctx, j) == nil {
				s.endFinalizing(j.FileID, true)
				s.log.Info("rolled back an interrupted finalize", "file_id", j.FileID)
			}
		default:
			s.log.Warn("cannot check an interrupted finalize yet", "file_id", j.FileID, "err", err)
		}
	}
	return nil
}

// Sweep settles the finalizes that were interrupted without a restart
// (their last step failed, and so could the rollback), then removes the
// temporary copies of finalized files whose safety margin has passed, and
// returns their ids. A finalize this process began is settled once it has
// returned; one another process began, once it is staleFinalize old.
func (s *Service) Sweep(ctx context.Context) ([]string, error) {
	err := s.settle(ctx, func(j *job) bool {
		s.finMu.Lock()
		running, mine := s.finalizing[j.FileID]
		s.finMu.Unlock()
		if mine {
			return !running
		}
		return s.now().Sub(j.Begun) > staleFinalize
	})
	if err != nil {
		return nil, err
	}
	jobs, err := s.fin.list(ctx, []string{stateCopied}, s.now())
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, j := range jobs {
		el, err := s.fleet.Get(j.Source)
		if err != nil {
			continue
		}
		err = el.Purge(ctx, j.FileID)
		api.Audit(s.auditor, nil, "file.purge", j.Source+"/"+j.FileID, err)
		if err != nil {
			s.log.Warn("removing a finalized file's temporary copy", "file_id", j.FileID, "err", err)
			continue
		}
		if err := s.fin.drop(ctx, j.FileID); err != nil {
			return removed, err
		}
		removed = append(removed, j.FileID)
	}
	return removed, nil
}
