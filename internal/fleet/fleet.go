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

	mu sync.Mutex
	// priority, when set, overrides the element's own (the registry's
	// operator-set priority).
	priority *int
	info     artstore.ElementInfo
	err      error
	at       time.Time     // of the last answer; zero before the first
	asking   chan struct{} // closed when the ask in flight ends; nil when none
}

// askTimeout bounds one ask for an element's info.
const askTimeout = 5 * time.Second

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

// Info returns the element's info; an element that cannot answer is
// unhealthy, and its error is returned.
//
// The element is asked once at first, by one caller while any others wait
// for the same answer. From then on the last answer is returned at once:
// when it is older than the fleet's ttl, the element is asked again in the
// background. A slow or unreachable element thus delays no caller beyond
// the first ask, and is seen as it is within ttl plus one ask.
func (f *Fleet) Info(ctx context.Context, id string) (artstore.ElementInfo, error) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m == nil {
		return artstore.ElementInfo{}, errs.E("fleet.Info", errs.NotExist, errs.Msg("no storage element %q", id))
	}
	m.mu.Lock()
	if m.at.IsZero() {
		done := m.ask()
		m.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return artstore.ElementInfo{}, errs.E("fleet.Info", errs.Unavailable, ctx.Err())
		}
		m.mu.Lock()
	} else if time.Since(m.at) >= f.ttl {
		m.ask()
	}
	defer m.mu.Unlock()
	info := m.info
	if m.priority != nil {
		info.Priority = *m.priority
	}
	return info, m.err
}

// ask starts asking the element for its info unless an ask is in flight,
// and returns the channel closed when the ask ends. m.mu is held.
func (m *member) ask() <-chan struct{} {
	if m.asking != nil {
		return m.asking
	}
	done := make(chan struct{})
	m.asking = done
	go func() {
		// The ask outlives the caller that started it, whose answer
		// other callers share.
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		info, err := m.el.Info(ctx)
		cancel()
		m.mu.Lock()
		m.info, m.err, m.at, m.asking = info, err, time.Now(), nil
		m.mu.Unlock()
		close(done)
	}()
	return done
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

// Invalidate tells the fleet that the element's last answer no longer
// holds: it refused an upload for want of room, or could not be reached.
// Until the element answers again, which it is asked at once in the
// background, Info reports it unavailable.
func (f *Fleet) Invalidate(id string) {
	f.mu.RLock()
	m := f.members[id]
	f.mu.RUnlock()
	if m != nil {
		m.mu.Lock()
		if !m.at.IsZero() {
			m.err = errs.E("fleet.Info", errs.Unavailable, errs.Msg("storage element %q refused a request; asking it again", id))
		}
		m.ask()
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
	ids := f.IDs()
	// Elements never asked are all asked at once, so that the first choice
	// waits for the slowest answer, not the sum of all; later choices use
	// the answers already there.
	f.mu.RLock()
	for _, id := range ids {
		if m := f.members[id]; m != nil {
			m.mu.Lock()
			if m.at.IsZero() {
				m.ask()
			}
			m.mu.Unlock()
		}
	}
	f.mu.RUnlock()
	var out []Candidate
	for _, id := range ids {
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
