// Package bus carries storage elements' journal entries to subscribers
// for push latency: in-process by default, Redis Streams in production.
// The bus is an accelerator, never the record: consumers keep following
// the journals themselves and use the bus only to learn of news sooner,
// so a lost or delayed message costs latency, not data.
package bus

import (
	"context"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/artstore"
)

// Event is one journal entry of one storage element, as the bus carries
// it. docs/events.md documents it for external subscribers.
type Event struct {
	ElementID string              `json:"element_id"`
	JournalID string              `json:"journal_id"`
	Seq       int64               `json:"seq"`
	Type      artstore.ChangeType `json:"type"`
	FileID    string              `json:"file_id"`
	Version   int64               `json:"version"`
	At        time.Time           `json:"at"`
	File      *artstore.File      `json:"file,omitempty"`
}

// EventsOf turns a page of an element's journal into events.
func EventsOf(elementID string, ch artstore.Changes) []Event {
	out := make([]Event, len(ch.Items))
	for i, c := range ch.Items {
		out[i] = Event{ElementID: elementID, JournalID: ch.JournalID, Seq: c.Seq, Type: c.Type,
			FileID: c.FileID, Version: c.Version, At: c.At, File: c.File}
	}
	return out
}

// Handler processes one event. An error leaves the event unacknowledged,
// to be delivered again.
type Handler func(ctx context.Context, ev Event) error

// Local is the in-process bus: it hands each published event to every
// subscriber without blocking the publisher; a subscriber that falls
// behind misses events and catches up from the journal.
type Local struct {
	mu   sync.Mutex
	subs map[*localSub]struct{}
}

type localSub struct{ ch chan Event }

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{subs: map[*localSub]struct{}{}} }

// Publish offers the page's events to every subscriber.
func (l *Local) Publish(elementID string, ch artstore.Changes) {
	evs := EventsOf(elementID, ch)
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs {
		for _, ev := range evs {
			select {
			case s.ch <- ev:
			default: // the subscriber is behind: it will read the journal
			}
		}
	}
}

// Subscribe calls fn for every event published until ctx is done.
func (l *Local) Subscribe(ctx context.Context, fn Handler) error {
	s := &localSub{ch: make(chan Event, 1024)}
	l.mu.Lock()
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.subs, s)
		l.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-s.ch:
			fn(ctx, ev)
		}
	}
}
