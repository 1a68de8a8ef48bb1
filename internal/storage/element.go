// Package storage implements a storage element: one store of files on a
// blob backend, with a sidecar per file (the source of truth), a SQL index
// that caches the sidecars, and a journal of every change that consumers
// follow. It enforces the element's mode and capacity and recovers from
// crashes on start-up. It knows nothing of HTTP; package sehttp serves it.
package storage

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Config describes an element.
type Config struct {
	ID       string        // element id, e.g. "rw-01"
	Mode     artstore.Mode // the mode of a new element; a persisted mode wins
	Priority int           // lower is filled first
	Capacity int64         // limit in bytes; 0 means unlimited
	Logger   *slog.Logger
}

// stateKey is the object that holds the element's identity and mode inside
// its backend, so that they travel with its data.
const stateKey = ".artstore/element.json"

type persisted struct {
	ElementID string        `json:"element_id"`
	Mode      artstore.Mode `json:"mode"`
	CreatedAt time.Time     `json:"created_at"`
	ChangedAt time.Time     `json:"changed_at"`
}

// Element is a storage element. It implements artstore.Element.
type Element struct {
	cfg     Config
	backend blob.Backend
	x       *index
	c       *committer
	log     *slog.Logger

	mode    atomic.Value // artstore.Mode
	created time.Time    // when the element first started, as persisted
	stopBg  context.CancelFunc
	// rebuild excludes every change while an index is rebuilt.
	rebuild sync.RWMutex
	modeMu  sync.Mutex
	locks   [256]sync.Mutex // per-file locks, striped by file id

	mu       sync.Mutex // guards the fields below
	used     int64      // bytes of indexed files
	pending  int64      // bytes of uploads in flight
	count    int64      // indexed files
	inflight map[string]bool
}

var _ artstore.Element = (*Element)(nil)

// Open opens the element on backend, with its index in db, and recovers
// from an earlier crash before it returns.
func Open(ctx context.Context, cfg Config, backend blob.Backend, db *sqldb.DB) (*Element, error) {
	const op = "storage.Open"
	if cfg.ID == "" || strings.ContainsAny(cfg.ID, "/\\ \t\n") {
		return nil, errs.E(op, errs.Invalid, errs.Msg("invalid element id %q", cfg.ID))
	}
	if !cfg.Mode.Valid() {
		return nil, errs.E(op, errs.Invalid, errs.Msg("invalid mode %q", cfg.Mode))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "storage_schema_version"); err != nil {
		return nil, errs.E(op, err)
	}
	e := &Element{
		cfg:      cfg,
		backend:  backend,
		x:        &index{db: db, id: cfg.ID},
		log:      cfg.Logger.With("element", cfg.ID),
		inflight: map[string]bool{},
	}
	mode, err := e.loadState(ctx)
	if err != nil {
		return nil, errs.E(op, err)
	}
	e.mode.Store(mode)
	journalID, lastSeq, err := e.x.state(ctx, func() string { return uuid.NewString() })
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	e.c = newCommitter(e.x, journalID, lastSeq)
	if err := e.recover(ctx); err != nil {
		e.c.close()
		return nil, errs.E(op, err)
	}
	if e.count, e.used, err = e.x.totals(ctx); err != nil {
		e.c.close()
		return nil, errs.E(op, errs.Unavailable, err)
	}
	bg, cancel := context.WithCancel(context.Background())
	e.stopBg = cancel
	go e.checkContent(bg)
	return e, nil
}

// loadState reads the persisted identity and mode, writing them on the
// element's first start.
func (e *Element) loadState(ctx context.Context) (artstore.Mode, error) {
	rc, err := e.backend.Get(ctx, stateKey, 0, -1)
	if errs.Is(errs.NotExist, err) {
		e.created = time.Now().UTC()
		return e.cfg.Mode, e.saveState(ctx, persisted{ElementID: e.cfg.ID, Mode: e.cfg.Mode, CreatedAt: e.created, ChangedAt: e.created})
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var p persisted
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&p); err != nil {
		return "", errs.E(errs.Internal, errs.Msg("reading %s: %v", stateKey, err))
	}
	if p.ElementID != e.cfg.ID {
		return "", errs.E(errs.Invalid, errs.Msg("backend belongs to element %q, not %q", p.ElementID, e.cfg.ID))
	}
	if !p.Mode.Valid() {
		return "", errs.E(errs.Internal, errs.Msg("%s holds invalid mode %q", stateKey, p.Mode))
	}
	if p.Mode != e.cfg.Mode {
		e.log.Info("persisted mode differs from configured mode; keeping the persisted one", "persisted", p.Mode, "configured", e.cfg.Mode)
	}
	e.created = p.CreatedAt
	return p.Mode, nil
}

func (e *Element) saveState(ctx context.Context, p persisted) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	_, err = e.backend.Put(ctx, stateKey, strings.NewReader(string(b)), int64(len(b)))
	return err
}

// Close stops the element after the changes in flight have committed, and
// closes its backend.
func (e *Element) Close() error {
	e.stopBg()
	e.c.close()
	return e.backend.Close()
}

// ID returns the element's id.
func (e *Element) ID() string { return e.cfg.ID }

// Mode returns the element's current mode.
func (e *Element) Mode() artstore.Mode { return e.mode.Load().(artstore.Mode) }

// Ready reports whether the element's backend answers and still holds the
// element's identity.
func (e *Element) Ready(ctx context.Context) error {
	_, err := e.backend.Stat(ctx, stateKey)
	return err
}

// availableLocked returns the bytes the element can still take, with e.mu
// held and a capacity set: uploads in flight hold their room.
func (e *Element) availableLocked() int64 {
	return max(0, e.cfg.Capacity-e.used-e.pending)
}

// Info describes the element.
func (e *Element) Info(ctx context.Context) (artstore.ElementInfo, error) {
	journalID, lastSeq, _ := e.c.head()
	e.mu.Lock()
	used, count := e.used, e.count
	avail := int64(-1)
	if e.cfg.Capacity > 0 {
		avail = e.availableLocked()
	}
	e.mu.Unlock()
	return artstore.ElementInfo{
		ElementID: e.cfg.ID,
		Mode:      e.Mode(),
		Priority:  e.cfg.Priority,
		Capacity:  artstore.Capacity{Total: e.cfg.Capacity, Used: used, Available: avail},
		FileCount: count,
		Backend:   e.backend.Kind(),
		Version:   artstore.Version,
		JournalID: journalID,
		LastSeq:   lastSeq,
	}, nil
}

// SetMode moves the element along its lifecycle (rw → ro → ar), durably.
func (e *Element) SetMode(ctx context.Context, m artstore.Mode) (artstore.ElementInfo, error) {
	const op = "storage.SetMode"
	if !m.Valid() {
		return artstore.ElementInfo{}, errs.E(op, errs.Invalid, errs.Msg("unknown mode %q", m))
	}
	e.modeMu.Lock()
	defer e.modeMu.Unlock()
	cur := e.Mode()
	if !cur.CanBecome(m) {
		return artstore.ElementInfo{}, errs.E(op, errs.Conflict, errs.Code("MODE_TRANSITION_NOT_ALLOWED"),
			errs.Msg("mode %s cannot become %s (allowed: rw → ro → ar)", cur, m))
	}
	// Writers hold the rebuild lock for reading; taking it for writing
	// waits for the uploads in flight, so none completes after the switch.
	e.rebuild.Lock()
	defer e.rebuild.Unlock()
	if err := e.saveState(ctx, persisted{ElementID: e.cfg.ID, Mode: m, CreatedAt: e.created, ChangedAt: time.Now().UTC()}); err != nil {
		return artstore.ElementInfo{}, errs.E(op, err)
	}
	e.mode.Store(m)
	e.log.Info("mode changed", "from", cur, "to", m)
	return e.Info(ctx)
}

// lockFile serialises changes to one file.
func (e *Element) lockFile(fileID string) func() {
	h := fnv.New32a()
	h.Write([]byte(fileID))
	m := &e.locks[h.Sum32()%uint32(len(e.locks))]
	m.Lock()
	return m.Unlock
}

// modeError is the error for an operation the mode forbids.
func modeError(op string, m artstore.Mode, what string) error {
	return errs.E(op, errs.Conflict, errs.Code("MODE_NOT_ALLOWED"), errs.Msg("element in mode %s does not allow %s", m, what))
}
