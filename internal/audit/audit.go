// Package audit owns ArtStore's audit log: an append-only record of who did
// what, to which item, from where and with what outcome. The log is
// tamper-evident. Every record carries an HMAC-SHA256 over the MAC of the
// record before it and over all of its own fields, and a separate head row,
// MACed as well and updated in the same transaction as each append, names
// the last record. Verify recomputes the chain, so an edited, deleted,
// inserted or reordered record, or a truncated tail, is found and named.
//
// The MAC key never leaves the process, so someone who can write to the
// database but does not hold the key cannot forge a consistent chain. What
// no chain kept in one database can show is the removal of everything, head
// included; operators who need that keep copies of the head elsewhere.
package audit

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// The outcomes of a recorded action.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure" // the action was allowed but did not succeed
	OutcomeDenied  = "denied"  // the caller was not allowed to do it
)

// Limits of a record.
const (
	MaxFieldBytes = 1024 // the largest value of any string field
	MinKeyBytes   = 32   // the shortest MAC key accepted, the size of the hash
)

// Record is one entry of the audit log.
type Record struct {
	Seq        int64     `json:"seq"` // position in the chain, from 1, without gaps
	At         time.Time `json:"at"`  // when it was appended, UTC, to the microsecond
	Actor      string    `json:"actor"`
	ActorRole  string    `json:"actor_role"`
	Action     string    `json:"action"` // what was done, e.g. "file.delete"
	Target     string    `json:"target"` // what it was done to, e.g. a file id
	SourceAddr string    `json:"source_addr"`
	RequestID  string    `json:"request_id"`
	Outcome    string    `json:"outcome"` // OutcomeSuccess, OutcomeFailure or OutcomeDenied
	Detail     string    `json:"detail"`
	MAC        string    `json:"mac"` // hex HMAC-SHA256 linking this record to the one before
}

// Log is an audit log kept in an SQL database. It is safe for concurrent
// use, also by several processes sharing one database.
type Log struct {
	db  *sqldb.DB
	key []byte
}

// Open applies the log's migrations to db and returns the log, which MACs
// its records with key. The key must stay the same for the life of the log:
// records written under another key fail verification, and Append refuses
// to extend a chain whose head it cannot authenticate.
func Open(ctx context.Context, db *sqldb.DB, key []byte) (*Log, error) {
	const op = "audit.Open"
	if db == nil {
		return nil, errs.E(op, errs.Invalid, errs.Msg("no database"))
	}
	if len(key) < MinKeyBytes {
		return nil, errs.E(op, errs.Invalid, errs.Msg("MAC key has %d bytes; at least %d are required", len(key), MinKeyBytes))
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "audit_schema_version"); err != nil {
		return nil, errs.E(op, err)
	}
	l := &Log{db: db, key: append([]byte(nil), key...)}
	// The head of an empty chain is written once, and only while there are
	// no records: a head that goes missing later must stay missing, so that
	// Verify reports it instead of a fresh head hiding the loss.
	_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO audit_head (id, last_seq, last_mac, mac)
		SELECT 1, 0, '', ? WHERE NOT EXISTS (SELECT 1 FROM audit_records)
		ON CONFLICT (id) DO NOTHING`), l.headMAC(0, ""))
	if err != nil {
		return nil, sqldb.Err(op, err)
	}
	return l, nil
}

// Append adds r to the end of the log and returns it as stored, with its
// Seq, At and MAC set; values the caller put in those fields are ignored.
// When r names no actor, the principal in ctx, if any, is recorded.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	const op = "audit.Append"
	if r.Actor == "" && r.ActorRole == "" {
		if p, ok := artstore.PrincipalFrom(ctx); ok {
			r.Actor, r.ActorRole = principalName(p), string(p.Role)
		}
	}
	if err := validate(r); err != nil {
		return Record{}, errs.E(op, err)
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Record{}, sqldb.Err(op, err)
	}
	defer tx.Rollback()

	// The head row serialises appenders. On PostgreSQL the row lock makes
	// every other appender, in this process or another, wait until this
	// transaction ends and then read the head it wrote. SQLite needs no
	// lock: sqldb opens write transactions with BEGIN IMMEDIATE, which
	// admits one writer at a time.
	q := `SELECT last_seq, last_mac, mac FROM audit_head WHERE id = 1`
	if l.db.Dialect == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	var (
		h       head
		headMAC string
	)
	err = tx.QueryRowContext(ctx, q).Scan(&h.seq, &h.mac, &headMAC)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, errs.E(op, errs.Internal, errs.Msg("the audit head is missing; the log has been tampered with"))
	}
	if err != nil {
		return Record{}, sqldb.Err(op, err)
	}
	// Extending a chain from a forged head would give it a valid head
	// again and so hide the forgery, for instance a truncated tail.
	if !macEqual(headMAC, l.headMAC(h.seq, h.mac)) {
		return Record{}, errs.E(op, errs.Internal, errs.Msg("the audit head fails its MAC; the log has been tampered with or the key is wrong"))
	}

	r.Seq = h.seq + 1
	r.At = time.Now().UTC().Truncate(time.Microsecond)
	r.MAC = l.recordMAC(h.mac, r)
	_, err = tx.ExecContext(ctx, l.db.Rebind(`INSERT INTO audit_records
		(seq, at, actor, actor_role, action, target, source_addr, request_id, outcome, detail, mac)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.Seq, r.At.UnixMicro(), r.Actor, r.ActorRole, r.Action, r.Target, r.SourceAddr, r.RequestID, r.Outcome, r.Detail, r.MAC)
	if err != nil {
		return Record{}, sqldb.Err(op, err)
	}
	_, err = tx.ExecContext(ctx, l.db.Rebind(`UPDATE audit_head SET last_seq = ?, last_mac = ?, mac = ? WHERE id = 1`),
		r.Seq, r.MAC, l.headMAC(r.Seq, r.MAC))
	if err != nil {
		return Record{}, sqldb.Err(op, err)
	}
	if err := tx.Commit(); err != nil {
		return Record{}, sqldb.Err(op, err)
	}
	return r, nil
}

// principalName is the identity recorded for p: its account id, which is
// stable, falling back to the names a principal without one carries.
func principalName(p artstore.Principal) string {
	switch {
	case p.Subject != "":
		return p.Subject
	case p.ClientID != "":
		return p.ClientID
	}
	return p.Name
}

// validate checks the fields a caller supplies.
func validate(r Record) error {
	if r.Action == "" {
		return errs.E(errs.Invalid, errs.Msg("action is required"))
	}
	if !validOutcome(r.Outcome) {
		return errs.E(errs.Invalid, errs.Msg("outcome %q is not one of %s, %s, %s", r.Outcome, OutcomeSuccess, OutcomeFailure, OutcomeDenied))
	}
	for _, f := range r.fields() {
		if err := checkString(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// checkString applies the limits every stored string obeys.
func checkString(name, s string) error {
	if len(s) > MaxFieldBytes {
		return errs.E(errs.Invalid, errs.Msg("%s has %d bytes; at most %d are allowed", name, len(s), MaxFieldBytes))
	}
	// Both dialects must accept the same records.
	if err := sqldb.CheckText(s); err != nil {
		return errs.E(errs.Invalid, errs.Msg("%s %v", name, err))
	}
	return nil
}

func validOutcome(s string) bool {
	return s == OutcomeSuccess || s == OutcomeFailure || s == OutcomeDenied
}
