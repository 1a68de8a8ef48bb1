package audit

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Filter selects records. Empty strings and nil times select everything.
type Filter struct {
	Actor, Action, Target, Outcome string
	Since                          *time.Time // records at or after Since
	Until                          *time.Time // records before Until
	Limit                          int        // 1 to api.MaxLimit; 0 means api.DefaultLimit
	Offset                         int
}

// Page is one page of records, newest first.
type Page struct {
	Items   []Record `json:"items"`
	Total   int64    `json:"total"` // records matching the filter, on all pages
	Limit   int      `json:"limit"`
	Offset  int      `json:"offset"`
	HasMore bool     `json:"has_more"`
}

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `seq, at, actor, actor_role, action, target, source_addr, request_id, outcome, detail, mac`

// List returns the records that match f, newest first.
func (l *Log) List(ctx context.Context, f Filter) (Page, error) {
	const op = "audit.List"
	if f.Limit == 0 {
		f.Limit = api.DefaultLimit
	}
	if f.Limit < 1 || f.Limit > api.MaxLimit {
		return Page{}, errs.E(op, errs.Invalid, errs.Msg("limit must be from 1 to %d", api.MaxLimit))
	}
	if f.Offset < 0 {
		return Page{}, errs.E(op, errs.Invalid, errs.Msg("offset must not be negative"))
	}
	if f.Outcome != "" && !validOutcome(f.Outcome) {
		return Page{}, errs.E(op, errs.Invalid, errs.Msg("outcome %q is not one of %s, %s, %s", f.Outcome, OutcomeSuccess, OutcomeFailure, OutcomeDenied))
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		return Page{}, errs.E(op, errs.Invalid, errs.Msg("until is before since"))
	}

	var (
		conds []string
		args  []any
	)
	for _, c := range []struct{ col, val string }{
		{"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}, {"outcome", f.Outcome},
	} {
		if c.val == "" {
			continue
		}
		if err := checkString(c.col, c.val); err != nil {
			return Page{}, errs.E(op, err)
		}
		conds = append(conds, c.col+" = ?")
		args = append(args, c.val)
	}
	if f.Since != nil {
		conds = append(conds, "at >= ?")
		args = append(args, ceilMicro(*f.Since))
	}
	if f.Until != nil {
		conds = append(conds, "at < ?")
		args = append(args, ceilMicro(*f.Until))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}

	p := Page{Items: []Record{}, Limit: f.Limit, Offset: f.Offset}
	if err := l.db.QueryRowContext(ctx, l.db.Rebind(`SELECT COUNT(*) FROM audit_records`+where), args...).Scan(&p.Total); err != nil {
		return Page{}, sqldb.Err(op, err)
	}
	// Seq, not At, orders the log: clocks of several processes may
	// disagree, but the chain's order is the order of the appends.
	rows, err := l.db.QueryContext(ctx, l.db.Rebind(`SELECT `+recordColumns+` FROM audit_records`+where+` ORDER BY seq DESC LIMIT ? OFFSET ?`),
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return Page{}, sqldb.Err(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Page{}, sqldb.Err(op, err)
		}
		p.Items = append(p.Items, r)
	}
	if err := rows.Err(); err != nil {
		return Page{}, sqldb.Err(op, err)
	}
	p.HasMore = int64(f.Offset)+int64(len(p.Items)) < p.Total
	return p, nil
}

// scanRecord reads a row of recordColumns.
func scanRecord(rows *sql.Rows) (Record, error) {
	var (
		r  Record
		at int64
	)
	err := rows.Scan(&r.Seq, &at, &r.Actor, &r.ActorRole, &r.Action, &r.Target, &r.SourceAddr, &r.RequestID, &r.Outcome, &r.Detail, &r.MAC)
	r.At = time.UnixMicro(at).UTC()
	return r, err
}

// ceilMicro returns t in Unix microseconds, rounded up: records are stored
// to the microsecond, so "at >= ceil(t)" is exactly "at >= t", and likewise
// for "<".
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}
