// Package seregistry is the admin service's registry of storage elements:
// which elements exist, where each one answers, the priority that orders
// them for sequential fill, and what each said about itself when last asked
// (mode, capacity, file count, health). It polls every element to keep that
// view fresh, serves the registry's HTTP API under
// /api/v1/storage-elements, and gives callers that choose an element, such
// as ingest, an artstore.Element through which to reach each one.
//
// The element is the authority on its own identity, mode and capacity; the
// registry only caches them. The registration's own fields (name,
// description, URL, priority) belong to the registry.
package seregistry

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sehttp"
	"github.com/artstore/artstore/internal/sqldb"
)

//go:embed migrations
var migrations embed.FS

// DefaultPollInterval is how often Run asks every element for its info
// when Config.PollInterval is zero.
const DefaultPollInterval = 30 * time.Second

// infoTimeout bounds one request for an element's info, so that a single
// hung element cannot stall a registration or a round of polling.
const infoTimeout = 10 * time.Second

// Status is the health of an element as the registry last saw it.
type Status string

// The statuses of an element.
const (
	StatusOnline  Status = "online"  // the element answered the last request for its info
	StatusOffline Status = "offline" // it did not, or answered as another element
)

// Entry is one registered storage element.
type Entry struct {
	ElementID   string `json:"element_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	// Priority orders the elements for sequential fill, lowest first. It
	// follows the element's reported priority until an operator sets it.
	Priority int           `json:"priority"`
	Mode     artstore.Mode `json:"mode"`
	Status   Status        `json:"status"`
	// Capacity is as the element reports it: Total 0 means unlimited, and
	// then Available is negative.
	Capacity   artstore.Capacity `json:"capacity"`
	FileCount  int64             `json:"file_count"`
	Backend    string            `json:"backend"`
	Version    string            `json:"version"`
	LastSeenAt *time.Time        `json:"last_seen_at"` // the last good answer
	LastError  string            `json:"last_error"`   // why the last request failed; "" when it did not
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"` // the last change of the registration's fields

	// pinned records that an operator chose Priority, so that polling
	// stops copying the element's own priority over it.
	pinned bool
}

// Config tunes a Registry. The zero value is usable.
type Config struct {
	PollInterval time.Duration // how often Run polls; DefaultPollInterval when zero
	HTTPClient   *http.Client  // for reaching elements; a client with a timeout when nil
	Logger       *slog.Logger  // slog.Default() when nil
	// Auditor, when set, records registrations, updates and deletes made
	// through the HTTP API.
	Auditor api.Auditor
}

// Registry is the storage-element registry. It is safe for concurrent use.
type Registry struct {
	db     *sqldb.DB
	tokens api.TokenSource
	cfg    Config
	log    *slog.Logger

	mu      sync.Mutex
	members map[string]member           // registered elements, by id
	locals  map[string]artstore.Element // elements this process runs, by id
}

// member is how the registry reaches one element.
type member struct {
	url string
	el  artstore.Element
}

// Open migrates the registry's tables in db and loads the registered
// elements. tokens authenticate the registry to the elements.
func Open(ctx context.Context, db *sqldb.DB, tokens api.TokenSource, cfg Config) (*Registry, error) {
	const op = "seregistry.Open"
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: infoTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := db.Migrate(ctx, fsys, "seregistry_schema_version"); err != nil {
		return nil, errs.E(op, err)
	}
	r := &Registry{
		db:      db,
		tokens:  tokens,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "seregistry"),
		members: map[string]member{},
		locals:  map[string]artstore.Element{},
	}
	entries, err := r.all(ctx)
	if err != nil {
		return nil, errs.E(op, err)
	}
	r.refresh(entries)
	return r, nil
}

// Element returns the element id for callers that read from or write to
// it: the element itself when this process runs it, else an HTTP client of
// its registered URL. It reports false for an element that is not
// registered.
func (r *Registry) Element(id string) (artstore.Element, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[id]
	return m.el, ok
}

// Entries returns every registered element in sequential-fill order
// (priority, then id), for callers that choose among them. It also brings
// the set that Element answers for up to date with the database, which
// another admin process may have changed.
func (r *Registry) Entries(ctx context.Context) ([]Entry, error) {
	entries, err := r.all(ctx)
	if err != nil {
		return nil, errs.E("seregistry.Entries", err)
	}
	r.refresh(entries)
	return entries, nil
}

// refresh makes the members match entries. A client whose URL is unchanged
// is kept, so that its connections are reused.
func (r *Registry) refresh(entries []Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := make(map[string]member, len(entries))
	for _, e := range entries {
		next[e.ElementID] = r.memberLocked(e.ElementID, e.URL)
	}
	r.members = next
}

// setMember records how to reach the element id registered at url.
func (r *Registry) setMember(id, url string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members[id] = r.memberLocked(id, url)
}

// memberLocked returns how to reach element id at url; r.mu is held.
func (r *Registry) memberLocked(id, url string) member {
	if el, ok := r.locals[id]; ok {
		return member{url: url, el: el}
	}
	if m, ok := r.members[id]; ok && m.url == url {
		return m
	}
	return member{url: url, el: sehttp.NewClient(url, r.tokens, r.cfg.HTTPClient)}
}

// forget drops the element id from the members and the local elements.
func (r *Registry) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.members, id)
	delete(r.locals, id)
}

// reach returns how to reach the element of e, even when the member set
// does not hold it yet (another process registered it). It does not add
// e to the members: a Delete running meanwhile must not be undone; the
// next refresh adds entries that are really there.
func (r *Registry) reach(e Entry) artstore.Element {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.memberLocked(e.ElementID, e.URL).el
}
