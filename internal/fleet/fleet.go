// Package fleet is the set of storage elements a process works with: the
// ones it runs itself and the ones it reaches over HTTP, behind the same
// artstore.Element interface. It caches what each element says about
// itself (mode, priority, capacity) for a short time and picks the
// elements an upload may go to, in sequential-fill order.
package fleet

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// DefaultTTL is how long an element's info is trusted before it is asked
// again.
const DefaultTTL = 2 * time.Second

// Fleet is a set of storage elements. It is safe for concurrent use.
type Fleet struct {
	ttl time.Duration

	mu      sync.RWMutex
	members map[string]*member
	order   []string
}

type member struct {
	id string
	el artstore.Element
	// priority, when set, overrides the element's own (the registry's
	// operator-set priority).
	priority *int

	mu   sync.Mutex
	info artstore.ElementInfo
	err  error
	at   time.Time
}

// New returns an empty fleet that trusts element info for ttl (DefaultTTL
// when ttl <= 0).
func New(ttl time.Duration) *Fleet {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Fleet{ttl: ttl, members: map[string]*member{}}
}

// Add adds the element id, replacing an element of the same id.
func (f *Fleet) Add(id string, el artstore.Element) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.members[id]; !ok {
		f.order = append(f.order, id)
	}
	f.members[id] = &member{id: id, el: el}
}

// Get returns the element id.
func (f *Fleet) Get(id string) (artstore.Element, error) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m == nil {
		return nil, errs.E("fleet.Get", errs.NotExist, errs.Msg("no storage element %q", id))
	}
	return m.el, nil
}

// IDs returns the ids of the elements in the order they were added.
func (f *Fleet) IDs() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.order)
}

// Info returns the element's info, asking the element when the cached one
// is older than the fleet's ttl. An element that cannot answer is
// unhealthy: its error is returned (and cached as briefly).
func (f *Fleet) Info(ctx context.Context, id string) (artstore.ElementInfo, error) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m == nil {
		return artstore.ElementInfo{}, errs.E("fleet.Info", errs.NotExist, errs.Msg("no storage element %q", id))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.at.IsZero() && time.Since(m.at) < f.ttl {
		return m.info, m.err
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m.info, m.err = m.el.Info(ictx)
	m.at = time.Now()
	if m.priority != nil {
		m.info.Priority = *m.priority
	}
	return m.info, m.err
}

// Has tells whether the fleet holds the element id.
func (f *Fleet) Has(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.members[id] != nil
}

// SetPriority makes sequential fill use p for the element id instead of
// the priority the element reports.
func (f *Fleet) SetPriority(id string, p int) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m != nil {
		m.mu.Lock()
		m.priority = &p
		m.mu.Unlock()
	}
}

// Invalidate forgets the cached info of id, so that the next Info asks
// the element: after it was full or could not be reached, for instance.
func (f *Fleet) Invalidate(id string) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m != nil {
		m.mu.Lock()
		m.at = time.Time{}
		m.mu.Unlock()
	}
}

// Candidate is an element an upload may go to.
type Candidate struct {
	ID      string
	Element artstore.Element
	Info    artstore.ElementInfo
}

// Candidates returns the elements in mode that can take a file of size
// bytes (size < 0: unknown, any room at all), in sequential-fill order:
// lowest priority first, then by id. Elements that do not answer are left
// out.
func (f *Fleet) Candidates(ctx context.Context, mode artstore.Mode, size int64) []Candidate {
	var out []Candidate
	for _, id := range f.IDs() {
		info, err := f.Info(ctx, id)
		if err != nil || info.Mode != mode || !info.Mode.CanCreate() {
			continue
		}
		if c := info.Capacity; c.Total > 0 && (c.Available <= 0 || (size >= 0 && c.Available < size)) {
			continue
		}
		el, _ := f.Get(id)
		out = append(out, Candidate{ID: id, Element: el, Info: info})
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.Info.Priority != b.Info.Priority {
			return a.Info.Priority - b.Info.Priority
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}
