package catalog

import (
	"context"
	"database/sql"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// target is one file state to apply: a live file, or a delete when file
// is nil.
type target struct {
	element string
	fileID  string
	version int64
	file    *artstore.File
}

// row is what the catalog holds for one file_id, as far as the version
// rules are concerned.
type row struct {
	id      int64
	element string
	version int64
	deleted bool
}

// applies reports whether o changes a file of which the catalog holds r (nil
// when it holds nothing). These are the version rules; they make applying
// any set of states, in any order and any number of times, end where
// applying them in version order once would.
//
// A file moves between elements when a temporary file is finalized: the copy
// on the new element has a higher version, and the old element later deletes
// its copy. So a live state replaces an older one wherever it comes from,
// and also a tombstone of the same version (an element journals a delete
// with the version after the file's last, so such a tombstone is either the
// old copy's or wrong); while a delete counts only on the element that holds
// the file, since from any other it is a stale copy going away.
func applies(r *row, o target) bool {
	if r == nil {
		return true // a delete of an unknown file leaves a tombstone
	}
	if o.file == nil {
		return r.element == o.element && o.version >= r.version && !(r.deleted && o.version == r.version)
	}
	switch {
	case o.version > r.version:
		return true
	case r.deleted && o.version == r.version:
		// From another element this is the stale copy's delete. From the
		// same element no journal produces it (a delete takes the next
		// version), so a live state there is the truth: reconciliation
		// relies on this to repair a wrong tombstone.
		return true
	}
	return false // a replay, or older
}

// Apply applies a page of one element's journal and moves the element's
// cursor to (ch.JournalID, ch.LastSeq), in one transaction: either both
// happen or neither does. When ch.JournalID is the journal the cursor is
// in, entries at or before the cursor are skipped, so a page may be
// replayed. When it differs, the element has rebuilt its journal and every
// entry is applied; the version rules keep that safe. Such a page must
// start the journal (its first entry has seq 1); any other is ignored. The
// cursor never moves back within one journal.
func (c *Catalog) Apply(ctx context.Context, elementID string, ch artstore.Changes) error {
	const op = "catalog.Apply"
	if err := checkID("element id", elementID); err != nil {
		return errs.E(op, err)
	}
	// Check every entry before writing anything, so that a malformed entry
	// is reported as such rather than as a failed transaction.
	targets := make([]target, len(ch.Items))
	for i, it := range ch.Items {
		o, err := changeTarget(elementID, it)
		if err != nil {
			return errs.E(op, err)
		}
		targets[i] = o
	}
	return c.inTx(ctx, op, func(tx *sql.Tx) error {
		var (
			journal string
			seq     int64
		)
		err := tx.QueryRowContext(ctx, c.q(`SELECT journal_id, seq FROM cat_cursors WHERE element_id = ?`), elementID).Scan(&journal, &seq)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		same := err == nil && journal == clean(ch.JournalID)
		if err == nil && !same && len(ch.Items) > 0 && ch.Items[0].Seq != 1 {
			// Another journal is read from its start. A page from its
			// middle is an entry of the journal the cursor has already
			// left, pushed by the bus before the follower moved on; it
			// must not take the cursor back.
			return nil
		}
		next := ch.LastSeq
		todo := targets[:0:0]
		for i, it := range ch.Items {
			if same && it.Seq <= seq {
				continue
			}
			todo = append(todo, targets[i])
			next = max(next, it.Seq)
		}
		if same {
			next = max(next, seq)
		}
		if _, err := c.write(ctx, tx, todo); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, c.q(`INSERT INTO cat_cursors (element_id, journal_id, seq) VALUES (?, ?, ?)
			ON CONFLICT (element_id) DO UPDATE SET journal_id = excluded.journal_id, seq = excluded.seq`),
			elementID, clean(ch.JournalID), next)
		return err
	})
}

// Put applies one file state from outside the journal, under the same
// version rules. The file is on f.StorageElementID. Put does not move
// cursors.
func (c *Catalog) Put(ctx context.Context, f *artstore.File) error {
	_, err := c.PutChanged(ctx, f)
	return err
}

// PutChanged is Put, and tells whether the state changed the catalog: the
// version rules ignore a state older than, or as old as, what the catalog
// holds, such as the copy an element keeps of a file finalized since.
func (c *Catalog) PutChanged(ctx context.Context, f *artstore.File) (bool, error) {
	const op = "catalog.Put"
	if f == nil {
		return false, errs.E(op, errs.Invalid, errs.Msg("no file"))
	}
	if err := checkID("storage_element_id", f.StorageElementID); err != nil {
		return false, errs.E(op, err)
	}
	o, err := liveTarget(f.StorageElementID, f.FileID, f.Version, f)
	if err != nil {
		return false, errs.E(op, err)
	}
	var n int
	err = c.inTx(ctx, op, func(tx *sql.Tx) (err error) {
		n, err = c.write(ctx, tx, []target{o})
		return err
	})
	return n > 0, err
}

// Missing records that elementID did not find a file the catalog holds at
// version on it: a tombstone at that very version, not at the next one as
// an element's own delete takes. Should the element show the file again at
// that version (it answered 404 while it rebuilt its index), the version
// rules let that live state repair the tombstone; a newer state of the file
// is left alone.
func (c *Catalog) Missing(ctx context.Context, elementID, fileID string, version int64) error {
	return c.Remove(ctx, elementID, fileID, version)
}

// Remove applies the delete of a file by elementID at the given version,
// from outside the journal, under the same version rules. It does not move
// cursors.
func (c *Catalog) Remove(ctx context.Context, elementID, fileID string, version int64) error {
	const op = "catalog.Remove"
	if err := checkID("element id", elementID); err != nil {
		return errs.E(op, err)
	}
	if err := checkID("file id", fileID); err != nil {
		return errs.E(op, err)
	}
	o := target{element: elementID, fileID: fileID, version: version}
	return c.inTx(ctx, op, func(tx *sql.Tx) error {
		_, err := c.write(ctx, tx, []target{o})
		return err
	})
}

// changeTarget turns a journal entry into the state it records.
func changeTarget(elementID string, c artstore.Change) (target, error) {
	fileID, version := c.FileID, c.Version
	switch c.Type {
	case artstore.FileCreated, artstore.FileUpdated:
		if c.File == nil {
			return target{}, errs.E(errs.Invalid, errs.Msg("journal entry %d (%s of %s) has no file", c.Seq, c.Type, fileID))
		}
		if fileID == "" {
			fileID = c.File.FileID
		}
		if c.File.FileID != "" && c.File.FileID != fileID {
			return target{}, errs.E(errs.Invalid, errs.Msg("journal entry %d is about %s but holds file %s", c.Seq, fileID, c.File.FileID))
		}
		if version == 0 {
			version = c.File.Version
		}
		return liveTarget(elementID, fileID, version, c.File)
	case artstore.FileDeleted:
		if err := checkID("file id", fileID); err != nil {
			return target{}, err
		}
		return target{element: elementID, fileID: fileID, version: version}, nil
	}
	return target{}, errs.E(errs.Invalid, errs.Msg("journal entry %d has unknown type %q", c.Seq, c.Type))
}

// liveTarget returns the live state of f on element at version. The stored
// copy says where the catalog places the file and at which version, so
// that what Get returns agrees with what the rules compared.
func liveTarget(element, fileID string, version int64, f *artstore.File) (target, error) {
	if err := checkID("file id", fileID); err != nil {
		return target{}, err
	}
	g := *f
	g.FileID, g.Version, g.StorageElementID = fileID, version, element
	return target{element: element, fileID: fileID, version: version, file: &g}, nil
}

func checkID(what, id string) error {
	if id == "" {
		return errs.E(errs.Invalid, errs.Msg("empty %s", what))
	}
	if err := sqldb.CheckText(id); err != nil {
		return errs.E(errs.Invalid, errs.Msg("%s %q %v", what, id, err))
	}
	return nil
}

// inTx runs fn in a write transaction and commits it. On PostgreSQL it
// first takes a lock that serialises the catalog's writers, as SQLite's
// single writer does: the version rules read a file's row before writing
// it, and two writers must not both find a file new. The lock is scoped to
// the schema, so catalogs in different schemas do not wait for each other.
func (c *Catalog) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return sqldb.Err(op, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return sqldb.Err(op, err)
	}
	defer tx.Rollback()
	if c.pg() {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('artstore.catalog:' || current_schema(), 0))`); err != nil {
			return sqldb.Err(op, err)
		}
	}
	if err := fn(tx); err != nil {
		if _, ok := err.(*errs.Error); ok {
			return errs.E(op, err)
		}
		return sqldb.Err(op, err)
	}
	if err := tx.Commit(); err != nil {
		return sqldb.Err(op, err)
	}
	return nil
}
