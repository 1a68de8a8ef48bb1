package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testKey = bytes.Repeat([]byte("k"), audit.MinKeyBytes)

// dialects runs fn on SQLite and on PostgreSQL (when enabled), each time
// with the DSN of a new, empty database.
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "audit.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Postgres(t)) })
}

// openDB opens dsn for the length of the test. Each call gets its own
// connection pool, as another process would.
func openDB(t *testing.T, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openLog(t *testing.T, db *sqldb.DB, key []byte) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), db, key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func appendOK(t *testing.T, l *audit.Log, r audit.Record) audit.Record {
	t.Helper()
	got, err := l.Append(context.Background(), r)
	if err != nil {
		t.Fatalf("Append(%+v): %v", r, err)
	}
	return got
}

func seqs(rs []audit.Record) []int64 {
	out := []int64{}
	for _, r := range rs {
		out = append(out, r.Seq)
	}
	return out
}

func TestOpenRejects(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "audit.db"))
	cases := []struct {
		name string
		db   *sqldb.DB
		key  []byte
	}{
		{"no database", nil, testKey},
		{"no key", db, nil},
		{"short key", db, testKey[:audit.MinKeyBytes-1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := audit.Open(context.Background(), c.db, c.key); !errs.Is(errs.Invalid, err) {
				t.Errorf("Open = %v, want an Invalid error", err)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		l := openLog(t, openDB(t, dsn), testKey)
		before := time.Now()
		in := audit.Record{
			Seq: 99, At: time.Unix(1, 0), MAC: "ignored",
			Actor: "sa-alice", ActorRole: "user", Action: "file.delete", Target: "f-1",
			SourceAddr: "192.0.2.7", RequestID: "req-1", Outcome: audit.OutcomeSuccess,
			Detail: "naïve détail, " + strings.Repeat("x", 100),
		}
		r := appendOK(t, l, in)
		if r.Seq != 1 || len(r.MAC) != 64 || r.MAC == in.MAC {
			t.Errorf("Append set Seq %d, MAC %q; want 1 and a new 64-digit MAC", r.Seq, r.MAC)
		}
		if r.At.Location() != time.UTC || r.At.Nanosecond()%1000 != 0 || r.At.Before(before.Truncate(time.Microsecond)) {
			t.Errorf("At = %v, want now in UTC to the microsecond", r.At)
		}
		page, err := l.List(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || !reflect.DeepEqual(page.Items[0], r) {
			t.Errorf("List = %+v, want exactly %+v", page.Items, r)
		}

		// The principal in the context stands in for a missing actor.
		p := artstore.Principal{Subject: "sa-bob", ClientID: "bob-app", Name: "bob", Role: artstore.RoleAdmin}
		r2, err := l.Append(artstore.WithPrincipal(ctx, p), audit.Record{Action: "se.mode", Outcome: audit.OutcomeDenied})
		if err != nil {
			t.Fatal(err)
		}
		if r2.Seq != 2 || r2.Actor != "sa-bob" || r2.ActorRole != "admin" {
			t.Errorf("Append with a principal = %+v, want seq 2 by sa-bob as admin", r2)
		}
	})
}

func TestAppendRejects(t *testing.T) {
	valid := audit.Record{Action: "file.upload", Outcome: audit.OutcomeSuccess}
	with := func(f func(*audit.Record)) audit.Record { r := valid; f(&r); return r }
	long := strings.Repeat("é", audit.MaxFieldBytes/2) + "x" // one byte over
	cases := []struct {
		name string
		r    audit.Record
	}{
		{"no action", with(func(r *audit.Record) { r.Action = "" })},
		{"no outcome", with(func(r *audit.Record) { r.Outcome = "" })},
		{"unknown outcome", with(func(r *audit.Record) { r.Outcome = "partial" })},
		{"long actor", with(func(r *audit.Record) { r.Actor = long })},
		{"long actor role", with(func(r *audit.Record) { r.ActorRole = long })},
		{"long action", with(func(r *audit.Record) { r.Action = long })},
		{"long target", with(func(r *audit.Record) { r.Target = long })},
		{"long source", with(func(r *audit.Record) { r.SourceAddr = long })},
		{"long request id", with(func(r *audit.Record) { r.RequestID = long })},
		{"long detail", with(func(r *audit.Record) { r.Detail = long })},
		{"invalid UTF-8", with(func(r *audit.Record) { r.Detail = "bad \xff byte" })},
		{"NUL", with(func(r *audit.Record) { r.Target = "a\x00b" })},
	}
	dialects(t, func(t *testing.T, dsn string) {
		l := openLog(t, openDB(t, dsn), testKey)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := l.Append(context.Background(), c.r); !errs.Is(errs.Invalid, err) {
					t.Errorf("Append = %v, want an Invalid error", err)
				}
			})
		}
		// The limit itself is allowed, and nothing rejected took a seq.
		r := appendOK(t, l, with(func(r *audit.Record) { r.Detail = strings.Repeat("é", audit.MaxFieldBytes/2) }))
		if r.Seq != 1 {
			t.Errorf("first accepted record has seq %d, want 1", r.Seq)
		}
	})
}

// TestConcurrentAppend appends from many goroutines over two connection
// pools, as two processes sharing a database would, and checks that the
// seqs form one gapless chain.
func TestConcurrentAppend(t *testing.T) {
	const workers, each = 8, 50
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		logs := []*audit.Log{openLog(t, openDB(t, dsn), testKey), openLog(t, openDB(t, dsn), testKey)}
		var wg sync.WaitGroup
		errc := make(chan error, workers+1)
		// Verify runs beside the appends and must never see half of one,
		// such as a record whose head it has not read yet.
		done := make(chan struct{})
		verified := make(chan int)
		go func() {
			n := 0
			defer func() { verified <- n }()
			for {
				select {
				case <-done:
					return
				default:
				}
				rep, err := logs[1].Verify(ctx)
				if err == nil && !rep.OK {
					err = fmt.Errorf("Verify during appends = %+v", rep)
				}
				if err != nil {
					errc <- err
					return
				}
				n++
			}
		}()
		for w := range workers {
			wg.Go(func() {
				l, last := logs[w%len(logs)], int64(0)
				for i := range each {
					r, err := l.Append(ctx, audit.Record{Actor: fmt.Sprintf("w%d", w), Action: "test.append", Target: fmt.Sprint(i), Outcome: audit.OutcomeSuccess})
					if err != nil {
						errc <- err
						return
					}
					if r.Seq <= last {
						errc <- fmt.Errorf("worker %d got seq %d after %d", w, r.Seq, last)
						return
					}
					last = r.Seq
				}
			})
		}
		wg.Wait()
		close(done)
		t.Logf("verified %d times during the appends", <-verified)
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		page, err := logs[0].List(ctx, audit.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		const n = workers * each
		if page.Total != n || len(page.Items) != n {
			t.Fatalf("List has %d of %d records, want %d", len(page.Items), page.Total, n)
		}
		for i, r := range page.Items {
			if want := int64(n - i); r.Seq != want {
				t.Fatalf("item %d has seq %d, want %d", i, r.Seq, want)
			}
		}
		rep, err := logs[1].Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Checked != n {
			t.Errorf("Verify = %+v, want OK with %d checked", rep, n)
		}
	})
}
