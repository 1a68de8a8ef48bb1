package ratelimit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestMemory(t *testing.T) {
	testConformance(t, func(t *testing.T, now func() time.Time) Store {
		m := NewMemory()
		m.now = now
		return m
	})
}

func TestSQLite(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "ratelimit.db")
	testConformance(t, func(t *testing.T, now func() time.Time) Store { return openSQL(t, dsn, now) })
}

func TestPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	testConformance(t, func(t *testing.T, now func() time.Time) Store { return openSQL(t, dsn, now) })
}

func TestRedis(t *testing.T) {
	srv := testenv.Redis(t)
	testConformance(t, func(t *testing.T, now func() time.Time) Store { return openRedis(t, srv.URL(), now) })
}

// openSQL opens its own connection pool on dsn, as another process would.
func openSQL(t *testing.T, dsn string, now func() time.Time) *SQL {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := NewSQL(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s.now = now
	return s
}

// openRedis opens its own client on url, as another process would.
func openRedis(t *testing.T, url string, now func() time.Time) *Redis {
	t.Helper()
	r, err := NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	r.now = now
	return r
}

// TestSharedAcrossInstances runs two independent stores on one database or
// server, as two processes would, and checks that they enforce one limit
// together and agree on the window even when their clocks disagree.
func TestSharedAcrossInstances(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) opener
	}{
		{"postgres", func(t *testing.T) opener {
			dsn := testenv.Postgres(t)
			return func(t *testing.T, now func() time.Time) Store { return openSQL(t, dsn, now) }
		}},
		{"sqlite", func(t *testing.T) opener {
			dsn := filepath.Join(t.TempDir(), "ratelimit.db")
			return func(t *testing.T, now func() time.Time) Store { return openSQL(t, dsn, now) }
		}},
		{"redis", func(t *testing.T) opener {
			url := testenv.Redis(t).URL()
			return func(t *testing.T, now func() time.Time) Store { return openRedis(t, url, now) }
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			t.Run("OneLimit", func(t *testing.T) {
				clk := newClock()
				testExactUnderConcurrency(t, clk, []Store{open(t, clk.Now), open(t, clk.Now)}, t.Name())
			})
			t.Run("ClockSkew", func(t *testing.T) {
				testClockSkew(t, open)
			})
		})
	}
}

// testClockSkew has one instance's clock run a second ahead of the other's
// across a window boundary. Once the fast one has opened the new window,
// the slow one counts against it instead of resetting it.
func testClockSkew(t *testing.T, open opener) {
	ctx := context.Background()
	const limit, window = 3, 10 * time.Second
	slowClock, fastClock := newClock(), newClock()
	slowClock.Advance(window - time.Second) // 750ms before the boundary
	fastClock.Advance(window)               // 250ms after it
	slow, fast := open(t, slowClock.Now), open(t, fastClock.Now)
	key := t.Name()

	for range limit {
		if _, err := slow.Take(ctx, key, limit, window); err != nil {
			t.Fatal(err)
		}
	}
	first, err := fast.Take(ctx, key, limit, window)
	if err != nil || !first.Allowed || first.Remaining != limit-1 {
		t.Fatalf("first take in the new window = %+v, %v; want allowed with %d remaining", first, err, limit-1)
	}
	d, err := slow.Take(ctx, key, limit, window)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{Allowed: true, Limit: limit, Remaining: limit - 2, Reset: first.Reset}
	if !sameDecision(d, want) {
		t.Fatalf("lagging instance's take = %+v, want %+v (counted in the new window)", d, want)
	}
}

func TestSQLPurge(t *testing.T) {
	ctx := context.Background()
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "ratelimit.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			s := openSQL(t, dsn(t), clk.Now)
			rows := func() int {
				t.Helper()
				var n int
				if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ratelimit_counters`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, k := range []string{"a", "b"} {
				if _, err := s.Take(ctx, k, 1, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Take(ctx, "long", 1, time.Hour); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Purge(ctx); err != nil || n != 0 {
				t.Fatalf("Purge within the windows = %d, %v; want 0", n, err)
			}
			// Two minutes on, a and b belong to past windows. The next
			// Take purges them by itself, because a purge is due.
			clk.Advance(2 * time.Minute)
			if _, err := s.Take(ctx, "c", 1, time.Minute); err != nil {
				t.Fatal(err)
			}
			if n := rows(); n != 2 {
				t.Fatalf("%d counters after the lazy purge, want 2 (long and c)", n)
			}
			clk.Advance(time.Hour)
			if n, err := s.Purge(ctx); err != nil || n != 2 {
				t.Fatalf("Purge after every window = %d, %v; want 2", n, err)
			}
		})
	}
}

func TestMemoryPurge(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := NewMemory()
	m.now = clk.Now
	m.Take(ctx, "a", 1, time.Minute)
	m.Take(ctx, "long", 1, time.Hour)
	clk.Advance(2 * time.Minute)
	m.Take(ctx, "b", 1, time.Minute)
	if n := m.Len(); n != 2 {
		t.Fatalf("%d counters after the purge, want 2 (long and b)", n)
	}
}
