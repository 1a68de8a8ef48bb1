package seregistry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// entryColumns are the columns scanEntry reads, in its order.
const entryColumns = `element_id, name, description, url, priority, priority_explicit, mode, status,
	capacity_total, capacity_used, capacity_available, file_count, backend, version,
	last_seen_at, last_error, created_at, updated_at`

// byFillOrder orders entries as sequential fill tries them.
const byFillOrder = ` ORDER BY priority, element_id`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (Entry, error) {
	var (
		e                         Entry
		pinned                    int
		lastSeen                  sql.NullInt64
		createdAt, updatedAt, pri int64
	)
	err := s.Scan(&e.ElementID, &e.Name, &e.Description, &e.URL, &pri, &pinned, &e.Mode, &e.Status,
		&e.Capacity.Total, &e.Capacity.Used, &e.Capacity.Available, &e.FileCount, &e.Backend, &e.Version,
		&lastSeen, &e.LastError, &createdAt, &updatedAt)
	if err != nil {
		return Entry{}, err
	}
	e.Priority, e.pinned = int(pri), pinned != 0
	if lastSeen.Valid {
		t := time.UnixMicro(lastSeen.Int64).UTC()
		e.LastSeenAt = &t
	}
	e.CreatedAt = time.UnixMicro(createdAt).UTC()
	e.UpdatedAt = time.UnixMicro(updatedAt).UTC()
	return e, nil
}

// get returns the entry of element id.
func (r *Registry) get(ctx context.Context, id string) (Entry, error) {
	e, err := scanEntry(r.db.QueryRowContext(ctx, r.db.Rebind(`SELECT `+entryColumns+` FROM se_registry WHERE element_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, errs.E(errs.NotExist, errs.Msg("storage element %q is not registered", id))
	}
	if err != nil {
		return Entry{}, sqldb.Err("", err)
	}
	return e, nil
}

// byURL returns the id of the element registered at url, or "".
func (r *Registry) byURL(ctx context.Context, url string) (string, error) {
	var id string
	err := r.db.QueryRowContext(ctx, r.db.Rebind(`SELECT element_id FROM se_registry WHERE url = ?`), url).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", sqldb.Err("", err)
	}
	return id, nil
}

// query returns the entries a query selects.
func (r *Registry) query(ctx context.Context, q string, args ...any) ([]Entry, error) {
	rows, err := r.db.QueryContext(ctx, r.db.Rebind(q), args...)
	if err != nil {
		return nil, sqldb.Err("", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, sqldb.Err("", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Err("", err)
	}
	return out, nil
}

// all returns every entry in fill order.
func (r *Registry) all(ctx context.Context) ([]Entry, error) {
	return r.query(ctx, `SELECT `+entryColumns+` FROM se_registry`+byFillOrder)
}

// insert adds a new entry. A taken id or URL is an Exist error.
func (r *Registry) insert(ctx context.Context, e Entry) error {
	_, err := r.db.ExecContext(ctx, r.db.Rebind(`INSERT INTO se_registry (`+entryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.ElementID, e.Name, e.Description, e.URL, e.Priority, boolInt(e.pinned), string(e.Mode), string(e.Status),
		e.Capacity.Total, e.Capacity.Used, e.Capacity.Available, e.FileCount, e.Backend, e.Version,
		micros(e.LastSeenAt), e.LastError, e.CreatedAt.UnixMicro(), e.UpdatedAt.UnixMicro())
	if sqldb.IsUniqueViolation(err) {
		return errs.E(errs.Exist, errs.Msg("storage element %q or URL %s is already registered", e.ElementID, e.URL))
	}
	if err != nil {
		return sqldb.Err("", err)
	}
	return nil
}

// saveRegistration writes the registration's own fields of e.
func (r *Registry) saveRegistration(ctx context.Context, e Entry, now time.Time) error {
	res, err := r.db.ExecContext(ctx, r.db.Rebind(`UPDATE se_registry SET name = ?, description = ?, url = ?,
		priority = ?, priority_explicit = ?, updated_at = ? WHERE element_id = ?`),
		e.Name, e.Description, e.URL, e.Priority, boolInt(e.pinned), now.UnixMicro(), e.ElementID)
	if sqldb.IsUniqueViolation(err) {
		return errs.E(errs.Exist, errs.Msg("URL %s is already registered to another element", e.URL))
	}
	return affected(res, err, e.ElementID)
}

// saveInfo records a good answer of the element: it is online, and its
// reported state replaces the cached one. The element's priority is taken
// too, unless an operator pinned the registry's.
func (r *Registry) saveInfo(ctx context.Context, info artstore.ElementInfo, now time.Time) error {
	res, err := r.db.ExecContext(ctx, r.db.Rebind(`UPDATE se_registry SET mode = ?, status = ?,
		capacity_total = ?, capacity_used = ?, capacity_available = ?, file_count = ?, backend = ?, version = ?,
		last_seen_at = ?, last_error = '',
		priority = CASE WHEN priority_explicit = 0 THEN ? ELSE priority END
		WHERE element_id = ?`),
		string(info.Mode), string(StatusOnline),
		info.Capacity.Total, info.Capacity.Used, info.Capacity.Available, info.FileCount, info.Backend, info.Version,
		now.UnixMicro(), clampPriority(info.Priority), info.ElementID)
	return affected(res, err, info.ElementID)
}

// saveFailure records that the element id did not answer as itself.
func (r *Registry) saveFailure(ctx context.Context, id, reason string) error {
	res, err := r.db.ExecContext(ctx, r.db.Rebind(`UPDATE se_registry SET status = ?, last_error = ? WHERE element_id = ?`),
		string(StatusOffline), reason, id)
	return affected(res, err, id)
}

// deleteEmpty removes the entry of element id if its last known file count
// is zero, in one statement, so that a sync that finds files in between
// cannot be overtaken. It reports whether a row went.
func (r *Registry) deleteEmpty(ctx context.Context, id string) (bool, error) {
	res, err := r.db.ExecContext(ctx, r.db.Rebind(`DELETE FROM se_registry WHERE element_id = ? AND file_count = 0`), id)
	if err != nil {
		return false, sqldb.Err("", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, sqldb.Err("", err)
	}
	return n > 0, nil
}

// affected turns an UPDATE that touched no row into a NotExist error: the
// entry was deleted meanwhile.
func affected(res sql.Result, err error, id string) error {
	if err != nil {
		return sqldb.Err("", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return sqldb.Err("", err)
	}
	if n == 0 {
		return errs.E(errs.NotExist, errs.Msg("storage element %q is not registered", id))
	}
	return nil
}

// likePattern returns a LIKE pattern, for use with ESCAPE '\', that finds
// s anywhere in a lower-cased column.
func likePattern(s string) string { return sqldb.LikeContains(strings.ToLower(s)) }

func micros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
