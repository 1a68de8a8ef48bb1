package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/naming"
	"github.com/artstore/artstore/internal/sidecar"
)

// errStop ends a List walk early.
var errStop = errors.New("stop")

// recover brings the index up to the sidecars after a crash. The backend
// has already removed partial writes when it opened; what is left are the
// changes that had recorded an intent and not committed. An index that is
// empty although the backend holds sidecars (a lost or new database) is
// rebuilt from them.
func (e *Element) recover(ctx context.Context) error {
	intents, err := e.x.intents(ctx)
	if err != nil {
		return errs.E("storage.recover", errs.Unavailable, err)
	}
	for _, in := range intents {
		if err := e.reconcile(ctx, in); err != nil {
			return errs.E("storage.recover", errs.Msg("file %s: %w", in.FileID, err))
		}
	}
	if len(intents) > 0 {
		e.log.Info("recovered interrupted changes", "count", len(intents))
	}
	count, _, err := e.x.totals(ctx)
	if err != nil {
		return errs.E("storage.recover", errs.Unavailable, err)
	}
	if _, head, _ := e.c.head(); count == 0 && head == 0 {
		found := false
		err := e.backend.List(ctx, "", func(bi blob.Info) error {
			if naming.IsSidecarKey(bi.Key) {
				found = true
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return errs.E("storage.recover", err)
		}
		if found {
			e.log.Info("index is empty but sidecars exist; rebuilding the index from them")
			if _, err := e.rebuildLocked(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcile makes the index agree with the sidecar of one file whose change
// was interrupted, and finishes or undoes the change.
func (e *Element) reconcile(ctx context.Context, in intent) error {
	sc, err := e.readSidecar(ctx, naming.SidecarKey(in.Key))
	if err != nil && !errs.Is(errs.NotExist, err) {
		if !errs.Is(errs.Invalid, err) {
			return err
		}
		e.log.Warn("unreadable sidecar of an interrupted change; removing the file", "file_id", in.FileID, "err", err)
		sc = nil
	}
	row, err := e.x.get(ctx, in.FileID)
	if err != nil && !errs.Is(errs.NotExist, err) {
		return err
	}
	if sc != nil && in.Op != opDelete {
		// The sidecar is durable, so the content before it is too: the
		// sidecar says what the file is.
		if row != nil && row.Version >= sc.Version {
			return e.c.do(ctx, func(t *txn) error { return e.x.dropIntent(t.Tx, in.FileID) })
		}
		typ := artstore.FileCreated
		if row != nil {
			typ = artstore.FileUpdated
		}
		err := e.c.do(ctx, func(t *txn) error {
			if err := e.x.dropIntent(t.Tx, in.FileID); err != nil {
				return err
			}
			if err := e.x.upsertFile(t.Tx, sc); err != nil {
				return err
			}
			return t.appendChange(&artstore.Change{Type: typ, FileID: sc.FileID, Version: sc.Version, At: sc.UpdatedAt, File: sc})
		})
		if err == nil && row == nil {
			e.log.Info("indexed a file whose upload was interrupted after it became durable", "file_id", sc.FileID)
		}
		return err
	}
	// No sidecar (or a delete to finish): the file must not exist.
	if err := e.backend.Delete(ctx, naming.SidecarKey(in.Key)); err != nil {
		return err
	}
	if err := e.backend.Delete(ctx, in.Key); err != nil {
		return err
	}
	if row != nil {
		return e.commitDelete(ctx, row)
	}
	return e.c.do(ctx, func(t *txn) error { return e.x.dropIntent(t.Tx, in.FileID) })
}

// readSidecar reads and decodes the sidecar under key. The location fields
// come from the key, which is authoritative for where the file lies.
func (e *Element) readSidecar(ctx context.Context, key string) (*artstore.File, error) {
	rc, err := e.backend.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20+1))
	if err != nil {
		return nil, err
	}
	f, err := sidecar.Decode(data)
	if err != nil {
		return nil, errs.E(errs.Invalid, err)
	}
	blobKey := strings.TrimSuffix(key, ".attr.json")
	f.StoragePath = path.Dir(blobKey) + "/"
	if f.StoragePath == "./" {
		f.StoragePath = ""
	}
	f.StorageFilename = path.Base(blobKey)
	f.StorageElementID = e.cfg.ID
	if f.Tags == nil {
		f.Tags = []string{}
	}
	if f.Metadata == nil {
		f.Metadata = map[string]any{}
	}
	return f, nil
}

// Rebuild replaces the element's index and journal with what its sidecars
// say. The journal gets a new identity, which tells consumers to resync.
func (e *Element) Rebuild(ctx context.Context) (artstore.RebuildReport, error) {
	e.rebuild.Lock()
	defer e.rebuild.Unlock()
	// Finish interrupted changes first: the reset below forgets intents.
	intents, err := e.x.intents(ctx)
	if err != nil {
		return artstore.RebuildReport{}, errs.E("storage.Rebuild", errs.Unavailable, err)
	}
	for _, in := range intents {
		if err := e.reconcile(ctx, in); err != nil {
			return artstore.RebuildReport{}, errs.E("storage.Rebuild", err)
		}
	}
	return e.rebuildLocked(ctx)
}

func (e *Element) rebuildLocked(ctx context.Context) (artstore.RebuildReport, error) {
	const op = "storage.Rebuild"
	rep := artstore.RebuildReport{Invalid: []string{}, JournalID: uuid.NewString()}
	var (
		batch       []*artstore.File
		count, used int64
		started     bool
	)
	flush := func() error {
		files := batch
		batch = nil
		first := !started
		started = true
		return e.c.do(ctx, func(t *txn) error {
			if first {
				if err := e.x.reset(t.Tx); err != nil {
					return err
				}
				t.restartJournal(rep.JournalID)
			}
			for _, f := range files {
				if err := e.x.upsertFile(t.Tx, f); err != nil {
					return err
				}
				if err := t.appendChange(&artstore.Change{Type: artstore.FileCreated, FileID: f.FileID, Version: f.Version, At: f.UpdatedAt, File: f}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := e.backend.List(ctx, "", func(bi blob.Info) error {
		if !naming.IsSidecarKey(bi.Key) {
			return nil
		}
		rep.Sidecars++
		f, err := e.readSidecar(ctx, bi.Key)
		if errs.Is(errs.Invalid, err) {
			rep.Invalid = append(rep.Invalid, bi.Key)
			e.log.Warn("skipping an unreadable sidecar", "key", bi.Key, "err", err)
			return nil
		}
		if err != nil {
			return err
		}
		batch = append(batch, f)
		rep.Indexed++
		count++
		used += f.Size
		if len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil && (len(batch) > 0 || !started) {
		err = flush()
	}
	if err != nil {
		return rep, errs.E(op, err)
	}
	_, rep.LastSeq, _ = e.c.head()
	e.mu.Lock()
	e.count, e.used = count, used
	e.mu.Unlock()
	e.log.Info("index rebuilt from sidecars", "sidecars", rep.Sidecars, "indexed", rep.Indexed, "invalid", len(rep.Invalid))
	return rep, nil
}

// Verify reads every file back and checks its size and checksum, and looks
// for objects in the backend that the index does not know.
func (e *Element) Verify(ctx context.Context) (artstore.VerifyReport, error) {
	const op = "storage.Verify"
	rep := artstore.VerifyReport{Missing: []string{}, Corrupt: []string{}, Orphaned: []string{}}
	buf := make([]byte, 1<<20)
	err := e.x.each(ctx, func(f *artstore.File) error {
		key := f.Key()
		rep.Checked++
		if _, err := e.backend.Stat(ctx, naming.SidecarKey(key)); errs.Is(errs.NotExist, err) {
			rep.Missing = append(rep.Missing, f.FileID+": sidecar "+naming.SidecarKey(key))
		} else if err != nil {
			return err
		}
		rc, err := e.openContent(ctx, f, 0, -1)
		if errs.Is(errs.NotExist, err) {
			rep.Missing = append(rep.Missing, f.FileID+": content "+key)
			return nil
		}
		if errs.Is(errs.Internal, err) { // compressed content that does not decode
			rep.Corrupt = append(rep.Corrupt, f.FileID+": "+key)
			return nil
		}
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.CopyBuffer(h, rc, buf)
		rc.Close()
		if errs.Is(errs.Internal, err) {
			rep.Corrupt = append(rep.Corrupt, f.FileID+": "+key)
			return nil
		}
		if err != nil {
			return err
		}
		rep.Bytes += n
		if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.Checksum {
			rep.Corrupt = append(rep.Corrupt, f.FileID+": "+key)
		}
		return nil
	})
	if err != nil {
		return rep, errs.E(op, err)
	}
	// Each object is looked up in the index rather than in a set of the
	// indexed keys, so that memory stays flat however many files there are.
	err = e.backend.List(ctx, "", func(bi blob.Info) error {
		if strings.HasPrefix(bi.Key, path.Dir(stateKey)+"/") {
			return nil
		}
		indexed, err := e.x.holds(ctx, naming.ContentKey(bi.Key))
		if err != nil {
			return err
		}
		if !indexed {
			rep.Orphaned = append(rep.Orphaned, bi.Key)
		}
		return nil
	})
	if err != nil {
		return rep, errs.E(op, err)
	}
	return rep, nil
}

// checkContent reports indexed files whose content is gone, in the
// background after start-up; Verify does the full check.
func (e *Element) checkContent(ctx context.Context) {
	start := time.Now()
	missing := 0
	err := e.x.each(ctx, func(f *artstore.File) error {
		if _, err := e.backend.Stat(ctx, f.Key()); errs.Is(errs.NotExist, err) {
			missing++
			e.log.Error("indexed file has no content in the backend", "file_id", f.FileID, "key", f.Key())
		}
		return ctx.Err()
	})
	if err != nil && ctx.Err() == nil {
		e.log.Warn("start-up content check failed", "err", err)
		return
	}
	e.log.Debug("start-up content check done", "missing", missing, "took", time.Since(start))
}
