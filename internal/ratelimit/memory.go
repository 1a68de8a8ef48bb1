package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Store that lives in one process. It is the default of the
// all-in-one server, where every request passes through the same process;
// deployments with several replicas need SQL or Redis so that the replicas
// share their counters.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	counters  map[string]counter
	lastPurge time.Time
}

// counter is the state of one key: the window it counts and its hits.
type counter struct {
	start, end int64 // Unix milliseconds
	hits       int64
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{now: time.Now, counters: map[string]counter{}}
}

var _ Store = (*Memory)(nil)

// Take implements Store.
func (m *Memory) Take(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	if err := checkArgs("ratelimit.Memory.Take", key, limit, window); err != nil {
		return Decision{}, err
	}
	now := m.now()
	start, end := windowOf(now, window)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeLocked(now)
	c, ok := m.counters[key]
	if !ok || start > c.start {
		c = counter{start: start, end: end}
	}
	// A window older than the counter's cannot occur with one clock, but
	// the rule is the same as in the shared stores: count against the
	// newest window.
	c.hits++
	m.counters[key] = c
	return decide(now, limit, window, c.hits, c.start), nil
}

// purgeLocked drops the counters of windows that have ended, at most once
// per purgeEvery, so that keys seen once (such as the addresses of passing
// clients) do not accumulate forever.
func (m *Memory) purgeLocked(now time.Time) {
	if now.Sub(m.lastPurge) < purgeEvery {
		return
	}
	m.lastPurge = now
	ms := now.UnixMilli()
	for k, c := range m.counters {
		if c.end <= ms {
			delete(m.counters, k)
		}
	}
}

// Len reports how many keys the store holds counters for.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.counters)
}
