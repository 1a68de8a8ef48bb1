// Package gc is the garbage collector of ArtStore: it deletes temporary
// files physically once they have expired, and nothing else. Each
// candidate comes from the catalog but is confirmed against the storage
// element's own metadata (the sidecar is the source of truth) before it is
// purged; the element journals the deletion, which is how it reaches the
// registry and every index.
package gc

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
)

// Catalog is what the collector needs of the file catalog.
type Catalog interface {
	Expired(ctx context.Context, before time.Time, after *artstore.File, limit int) ([]artstore.File, error)
	Remove(ctx context.Context, elementID, fileID string, version int64) error
	Missing(ctx context.Context, elementID, fileID string, version int64) error
}

// Report says what one run did. Each list names at most
// artstore.MaxListed files; its count counts them all.
type Report struct {
	StartedAt    time.Time `json:"started_at"`
	Duration     float64   `json:"duration_seconds"`
	Examined     int       `json:"examined"`
	Deleted      []string  `json:"deleted"` // file ids
	DeletedCount int       `json:"deleted_count"`
	Skipped      []string  `json:"skipped"` // candidates the element did not confirm
	SkippedCount int       `json:"skipped_count"`
	// FinalizedCopies are the temporary copies of finalized files removed
	// after their safety margin.
	FinalizedCopies []string `json:"finalized_copies"`
	FinalizedCount  int      `json:"finalized_copies_count"`
	Errors          []string `json:"errors"`
	ErrorsCount     int      `json:"errors_count"`
}

// Sweeper removes something else that has outlived its time, such as the
// temporary copies of finalized files, and returns what it removed.
type Sweeper func(ctx context.Context) ([]string, error)

// Collector runs collections, one at a time.
type Collector struct {
	cat   Catalog
	fleet *fleet.Fleet
	log   *slog.Logger
	now   func() time.Time
	batch int

	sweep   Sweeper
	auditor api.Auditor
	run     sync.Mutex // one collection at a time
	runs    prometheus.Counter
	deleted prometheus.Counter
	errors  prometheus.Counter
}

// New returns a collector. reg, when not nil, receives its metrics.
func New(cat Catalog, fl *fleet.Fleet, log *slog.Logger, reg prometheus.Registerer) *Collector {
	if log == nil {
		log = slog.Default()
	}
	c := &Collector{
		cat: cat, fleet: fl, log: log, now: time.Now, batch: 500,
		runs:    prometheus.NewCounter(prometheus.CounterOpts{Name: "artstore_gc_runs_total", Help: "Garbage collections run."}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{Name: "artstore_gc_deleted_files_total", Help: "Expired temporary files deleted by the garbage collector."}),
		errors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "artstore_gc_errors_total", Help: "Files the garbage collector failed to delete."}),
	}
	if reg != nil {
		reg.MustRegister(c.runs, c.deleted, c.errors)
	}
	return c
}

// SetAuditor makes the collector record its deletes with a.
func (c *Collector) SetAuditor(a api.Auditor) { c.auditor = a }

// SetSweeper makes every run also call sw.
func (c *Collector) SetSweeper(sw Sweeper) { c.sweep = sw }

// Run collects once: every temporary file whose expiry has passed is
// purged from its element, and the sweeper runs.
func (c *Collector) Run(ctx context.Context) (rep Report, err error) {
	c.run.Lock()
	defer c.run.Unlock()
	c.runs.Inc()
	now := c.now().UTC()
	start := time.Now()
	rep = Report{StartedAt: now, Deleted: []string{}, Skipped: []string{}, FinalizedCopies: []string{}, Errors: []string{}}
	defer func() { rep.Duration = time.Since(start).Seconds() }()
	if c.sweep != nil {
		removed, err := c.sweep(ctx)
		for _, id := range removed {
			artstore.Note(&rep.FinalizedCopies, &rep.FinalizedCount, id)
		}
		if err != nil {
			artstore.Note(&rep.Errors, &rep.ErrorsCount, err.Error())
		}
	}
	// The walk goes on from the last candidate, past any that stay in the
	// catalog because their element could not purge them.
	var after *artstore.File
	for {
		files, err := c.cat.Expired(ctx, now, after, c.batch)
		if err != nil {
			return rep, errs.E("gc.Run", err)
		}
		for i := range files {
			rep.Examined++
			c.collect(ctx, &files[i], now, &rep)
		}
		if len(files) < c.batch {
			break
		}
		after = &files[len(files)-1]
	}
	if rep.DeletedCount > 0 || rep.ErrorsCount > 0 {
		c.log.Info("garbage collection", "deleted", rep.DeletedCount, "skipped", rep.SkippedCount, "errors", rep.ErrorsCount)
	}
	return rep, nil
}

// collect purges one candidate after its element confirms that it is a
// temporary file past its expiry.
func (c *Collector) collect(ctx context.Context, f *artstore.File, now time.Time, rep *Report) {
	fail := func(err error) {
		c.errors.Inc()
		artstore.Note(&rep.Errors, &rep.ErrorsCount, f.FileID+": "+err.Error())
	}
	el, err := c.fleet.Get(f.StorageElementID)
	if err != nil {
		fail(err)
		return
	}
	cur, err := el.Stat(ctx, f.FileID)
	if errs.Is(errs.NotExist, err) {
		// Already gone; the journal will tell the catalog, and so do we.
		if err := c.cat.Missing(ctx, f.StorageElementID, f.FileID, f.Version); err != nil {
			c.log.Warn("recording a file gone from its element in the catalog", "file_id", f.FileID, "err", err)
		}
		artstore.Note(&rep.Skipped, &rep.SkippedCount, f.FileID)
		return
	}
	if err != nil {
		fail(err)
		return
	}
	if cur.RetentionPolicy != artstore.Temporary || cur.ExpiresAt == nil || !cur.ExpiresAt.Before(now) {
		artstore.Note(&rep.Skipped, &rep.SkippedCount, f.FileID)
		return
	}
	err = el.Purge(ctx, f.FileID)
	api.Audit(c.auditor, nil, "file.purge", f.StorageElementID+"/"+f.FileID, err)
	if err != nil {
		fail(err)
		return
	}
	if err := c.cat.Remove(ctx, f.StorageElementID, f.FileID, cur.Version+1); err != nil {
		c.log.Warn("recording a collected file in the catalog; the journal will bring it", "file_id", f.FileID, "err", err)
	}
	c.deleted.Inc()
	artstore.Note(&rep.Deleted, &rep.DeletedCount, f.FileID)
}
