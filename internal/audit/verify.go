package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/artstore/artstore/internal/sqldb"
)

// Report is the result of verifying the log.
type Report struct {
	OK      bool  `json:"ok"`
	Checked int64 `json:"checked"` // records whose MAC was found correct, from seq 1
	// FirstBroken is the first seq that cannot be trusted, 0 when the log
	// is intact. A record that is missing is named by the seq it had; a
	// damaged head by the seq after the last record that verified.
	FirstBroken int64  `json:"first_broken"`
	Problem     string `json:"problem"`
}

// Verify recomputes the MAC chain from the first record to the head and
// reports the first place where it breaks. A broken log is not an error:
// the report says what is wrong. Errors mean the check could not be made.
//
// Verify reads the records and the head from one snapshot of the database,
// so appends made while it runs are neither half-seen nor mistaken for
// records beyond the head.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	const op = "audit.Verify"
	opts := &sql.TxOptions{ReadOnly: true}
	if l.db.Dialect == sqldb.Postgres {
		// Read committed would give each statement its own snapshot.
		opts.Isolation = sql.LevelRepeatableRead
	}
	// On SQLite a read-only transaction begins deferred; its snapshot is
	// fixed by its first read, in WAL mode without blocking writers.
	tx, err := l.db.BeginTx(ctx, opts)
	if err != nil {
		return Report{}, sqldb.Err(op, err)
	}
	defer tx.Rollback()

	var (
		h       head
		headMAC string
	)
	err = tx.QueryRowContext(ctx, `SELECT last_seq, last_mac, mac FROM audit_head WHERE id = 1`).Scan(&h.seq, &h.mac, &headMAC)
	headMissing := errors.Is(err, sql.ErrNoRows)
	if err != nil && !headMissing {
		return Report{}, sqldb.Err(op, err)
	}

	rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM audit_records ORDER BY seq`)
	if err != nil {
		return Report{}, sqldb.Err(op, err)
	}
	defer rows.Close()
	var (
		checked int64
		prev    string // the MAC of the last record that verified
	)
	broken := func(seq int64, format string, args ...any) (Report, error) {
		return Report{Checked: checked, FirstBroken: seq, Problem: fmt.Sprintf(format, args...)}, nil
	}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Report{}, sqldb.Err(op, err)
		}
		want := checked + 1
		switch {
		case r.Seq == want+1:
			return broken(want, "record %d is missing", want)
		case r.Seq > want:
			return broken(want, "records %d to %d are missing", want, r.Seq-1)
		case r.Seq < want:
			// Seqs start at 1; a lower one was never appended here.
			return broken(want, "record with seq %d precedes the chain", r.Seq)
		}
		if !macEqual(r.MAC, l.recordMAC(prev, r)) {
			return broken(r.Seq, "record %d does not match its MAC: it was altered, moved or forged, or the key is wrong", r.Seq)
		}
		if !headMissing && r.Seq > h.seq {
			// Only an append moves the head, in the same transaction.
			return broken(r.Seq, "record %d lies beyond the head of the log", r.Seq)
		}
		checked, prev = r.Seq, r.MAC
	}
	if err := rows.Err(); err != nil {
		return Report{}, sqldb.Err(op, err)
	}

	next := checked + 1
	switch {
	case headMissing:
		return broken(next, "the head of the log is missing")
	case !macEqual(headMAC, l.headMAC(h.seq, h.mac)):
		return broken(next, "the head of the log does not match its MAC: it was altered, or the key is wrong")
	case h.seq > checked && h.seq == next:
		return broken(next, "record %d, the last one, is missing", next)
	case h.seq > checked:
		return broken(next, "records %d to %d, the last ones, are missing", next, h.seq)
	case !macEqual(h.mac, prev):
		// Reached only when the head and its MAC were replaced together,
		// which takes the key; still, the chain must end where it says.
		return broken(h.seq, "the head of the log names another record %d", h.seq)
	}
	return Report{OK: true, Checked: checked}, nil
}
