package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// exec runs a statement written with '?' placeholders, as someone with
// write access to the database but without the key might.
func exec(t *testing.T, db *sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// payload is every column of a record but its seq.
const payload = `at, actor, actor_role, action, target, source_addr, request_id, outcome, detail, mac`

// copyRecord inserts a copy of record from, MAC and all, at seq to.
func copyRecord(t *testing.T, db *sqldb.DB, from, to int64) {
	exec(t, db, `INSERT INTO audit_records (seq, `+payload+`) SELECT ?, `+payload+` FROM audit_records WHERE seq = ?`, to, from)
}

// swap exchanges the columns cols of records a and b, through a spare seq.
func swap(t *testing.T, db *sqldb.DB, a, b int64, cols string) {
	const spare = 1000
	copyRecord(t, db, a, spare)
	for _, c := range splitCols(cols) {
		exec(t, db, `UPDATE audit_records SET `+c+` = (SELECT `+c+` FROM audit_records WHERE seq = ?) WHERE seq = ?`, b, a)
		exec(t, db, `UPDATE audit_records SET `+c+` = (SELECT `+c+` FROM audit_records WHERE seq = ?) WHERE seq = ?`, spare, b)
	}
	exec(t, db, `DELETE FROM audit_records WHERE seq = ?`, spare)
}

func splitCols(cols string) []string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

func TestVerifyDetectsTampering(t *testing.T) {
	const content = `at, actor, actor_role, action, target, source_addr, request_id, outcome, detail`
	cases := []struct {
		name        string
		tamper      func(t *testing.T, db *sqldb.DB)
		firstBroken int64
	}{
		{"edit detail", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_records SET detail = 'nothing to see' WHERE seq = 3`)
		}, 3},
		{"edit actor of the first", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_records SET actor = 'mallory' WHERE seq = 1`)
		}, 1},
		{"edit outcome of the last", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_records SET outcome = 'denied' WHERE seq = 6`)
		}, 6},
		{"edit time", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_records SET at = at + 1 WHERE seq = 4`)
		}, 4},
		{"move bytes between fields", func(t *testing.T, db *sqldb.DB) {
			// "bob"+"file.upload" and "bobf"+"ile.upload" concatenate alike.
			exec(t, db, `UPDATE audit_records SET actor = 'bobf', action = 'ile.upload' WHERE seq = 2`)
		}, 2},
		{"replace a MAC", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_records SET mac = (SELECT mac FROM audit_records WHERE seq = 2) WHERE seq = 3`)
		}, 3},
		{"delete the first", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records WHERE seq = 1`)
		}, 1},
		{"delete a middle one", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records WHERE seq = 3`)
		}, 3},
		{"delete the last", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records WHERE seq = 6`)
		}, 6},
		{"delete the last two", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records WHERE seq >= 5`)
		}, 5},
		{"delete the last and rewind the head", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records WHERE seq = 6`)
			exec(t, db, `UPDATE audit_head SET last_seq = 5, last_mac = (SELECT mac FROM audit_records WHERE seq = 5)`)
		}, 6},
		{"delete every record", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_records`)
		}, 1},
		{"delete the head", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `DELETE FROM audit_head`)
		}, 7},
		{"edit the head's MAC", func(t *testing.T, db *sqldb.DB) {
			exec(t, db, `UPDATE audit_head SET mac = (SELECT mac FROM audit_records WHERE seq = 6)`)
		}, 7},
		{"swap contents and MACs", func(t *testing.T, db *sqldb.DB) {
			swap(t, db, 2, 4, payload)
		}, 2},
		{"swap contents only", func(t *testing.T, db *sqldb.DB) {
			swap(t, db, 3, 5, content)
		}, 3},
		{"swap adjacent records", func(t *testing.T, db *sqldb.DB) {
			swap(t, db, 5, 6, payload)
		}, 5},
		{"insert a forged record at the end", func(t *testing.T, db *sqldb.DB) {
			copyRecord(t, db, 6, 7)
		}, 7},
		{"insert a forged record and move the head", func(t *testing.T, db *sqldb.DB) {
			copyRecord(t, db, 6, 7)
			exec(t, db, `UPDATE audit_head SET last_seq = 7, last_mac = (SELECT mac FROM audit_records WHERE seq = 7)`)
		}, 7},
		{"insert a forged record in the middle", func(t *testing.T, db *sqldb.DB) {
			// Renumber 3..6 as 4..7, in two steps so no seq is taken twice.
			exec(t, db, `UPDATE audit_records SET seq = -seq WHERE seq >= 3`)
			exec(t, db, `UPDATE audit_records SET seq = 1 - seq WHERE seq < 0`)
			copyRecord(t, db, 4, 3)
			exec(t, db, `UPDATE audit_records SET actor = 'mallory' WHERE seq = 3`)
		}, 3},
		{"insert a record before the first", func(t *testing.T, db *sqldb.DB) {
			copyRecord(t, db, 1, 0)
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dialects(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				db := openDB(t, dsn)
				l := openLog(t, db, testKey)
				appendFixture(t, l)
				if rep, err := l.Verify(ctx); err != nil || !rep.OK || rep.Checked != 6 {
					t.Fatalf("before tampering, Verify = %+v, %v", rep, err)
				}
				c.tamper(t, db)
				rep, err := l.Verify(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK || rep.FirstBroken != c.firstBroken || rep.Checked != c.firstBroken-1 || rep.Problem == "" {
					t.Errorf("Verify = %+v, want first broken %d after %d checked", rep, c.firstBroken, c.firstBroken-1)
				}
			})
		})
	}
}

func TestVerifyWrongKey(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openDB(t, dsn)
		l := openLog(t, db, testKey)
		// The wrong key differs from the right one in its last byte only.
		wrong := openLog(t, db, append(testKey[:len(testKey)-1:len(testKey)-1], 'K'))
		// Even an empty log is bound to its key, through the head.
		if rep, err := wrong.Verify(ctx); err != nil || rep.OK || rep.FirstBroken != 1 {
			t.Fatalf("empty log under another key: Verify = %+v, %v", rep, err)
		}
		// Records appended under the right key fail from the first.
		appendFixture(t, l)
		rep, err := wrong.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.FirstBroken != 1 || rep.Checked != 0 {
			t.Errorf("Verify with a wrong key = %+v, want first broken 1", rep)
		}
		if _, err := wrong.Append(ctx, fixture[0]); !errs.Is(errs.Internal, err) {
			t.Errorf("Append with a wrong key = %v, want an Internal error", err)
		}
	})
}

// TestForgedHeadStaysBroken checks that a damaged head is never repaired by
// the log itself, which would hide the damage: Append refuses to extend the
// chain, and Open does not put back a head that was removed.
func TestForgedHeadStaysBroken(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openDB(t, dsn)
		l := openLog(t, db, testKey)
		appendFixture(t, l)

		exec(t, db, `DELETE FROM audit_records WHERE seq = 6`)
		exec(t, db, `UPDATE audit_head SET last_seq = 5, last_mac = (SELECT mac FROM audit_records WHERE seq = 5)`)
		if _, err := l.Append(ctx, fixture[0]); !errs.Is(errs.Internal, err) {
			t.Errorf("Append on a rewound head = %v, want an Internal error", err)
		}

		exec(t, db, `DELETE FROM audit_head`)
		if _, err := l.Append(ctx, fixture[0]); !errs.Is(errs.Internal, err) {
			t.Errorf("Append without a head = %v, want an Internal error", err)
		}
		l = openLog(t, db, testKey)
		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.FirstBroken != 6 {
			t.Errorf("after reopening, Verify = %+v, want the head still missing after 5", rep)
		}
	})
}

func TestVerifyEmpty(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		l := openLog(t, openDB(t, dsn), testKey)
		rep, err := l.Verify(context.Background())
		if err != nil || rep != (audit.Report{OK: true}) {
			t.Errorf("Verify = %+v, %v; want OK with nothing checked", rep, err)
		}
	})
}
