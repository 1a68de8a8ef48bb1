package ratelimit

import (
	"context"
	"embed"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// SQL is a Store in an SQL database, SQLite or PostgreSQL. Processes that
// open the same PostgreSQL database share their limits; a SQLite file
// shares them between the processes of one machine. Each Take is a single
// upsert, which the database applies atomically, so the limit is exact
// however many processes count at once.
type SQL struct {
	db     *sqldb.DB
	now    func() time.Time
	upsert string

	// lastPurge is the Unix millisecond time of the last purge, claimed
	// with a compare-and-swap so that only one Take at a time purges.
	lastPurge atomic.Int64
}

// NewSQL returns the store in db, creating its table on first use. The
// table has its own version table, so it migrates independently of the
// other components sharing the database.
func NewSQL(ctx context.Context, db *sqldb.DB) (*SQL, error) {
	const op = "ratelimit.NewSQL"
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "ratelimit_schema_version"); err != nil {
		return nil, errs.E(op, err)
	}
	// The dialects differ only in the name of the two-argument maximum.
	greatest := "MAX"
	if db.Dialect == sqldb.Postgres {
		greatest = "GREATEST"
	}
	// A newer window starts the counter again; the same or an older one
	// (from a process whose clock lags) adds to it. SET expressions read
	// the row as it was before the update in both dialects.
	upsert := db.Rebind(`INSERT INTO ratelimit_counters AS c (bucket, window_start, hits, expires_at)
VALUES (?, ?, 1, ?)
ON CONFLICT (bucket) DO UPDATE SET
	hits = CASE WHEN excluded.window_start > c.window_start THEN 1 ELSE c.hits + 1 END,
	window_start = ` + greatest + `(c.window_start, excluded.window_start),
	expires_at = ` + greatest + `(c.expires_at, excluded.expires_at)
RETURNING hits, window_start`)
	return &SQL{db: db, now: time.Now, upsert: upsert}, nil
}

var _ Store = (*SQL)(nil)

// Take implements Store.
func (s *SQL) Take(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	const op = "ratelimit.SQL.Take"
	if err := checkArgs(op, key, limit, window); err != nil {
		return Decision{}, err
	}
	now := s.now()
	start, end := windowOf(now, window)
	var hits, winStart int64
	if err := s.db.QueryRowContext(ctx, s.upsert, key, start, end).Scan(&hits, &winStart); err != nil {
		return Decision{}, errs.E(op, errs.Unavailable, err)
	}
	s.maybePurge(ctx, now)
	return decide(now, limit, window, hits, winStart), nil
}

// maybePurge purges at most once per purgeEvery per store. It runs after
// the count, so a slow purge delays one response but never the decision's
// accuracy, and a failed one is simply retried after the next interval.
func (s *SQL) maybePurge(ctx context.Context, now time.Time) {
	ms := now.UnixMilli()
	last := s.lastPurge.Load()
	if ms-last < purgeEvery.Milliseconds() || !s.lastPurge.CompareAndSwap(last, ms) {
		return
	}
	_, _ = s.purge(ctx, ms)
}

// Purge deletes the counters of windows that have ended and reports how
// many it deleted. Take calls it now and then; it is exported for
// maintenance jobs and tests.
func (s *SQL) Purge(ctx context.Context) (int64, error) {
	return s.purge(ctx, s.now().UnixMilli())
}

func (s *SQL) purge(ctx context.Context, nowMS int64) (int64, error) {
	const op = "ratelimit.SQL.Purge"
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM ratelimit_counters WHERE expires_at <= ?`), nowMS)
	if err != nil {
		return 0, errs.E(op, errs.Unavailable, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, errs.E(op, errs.Unavailable, err)
	}
	return n, nil
}
