// Package bus carries storage elements' journal entries to subscribers
// across processes for push latency, on Redis Streams. Within one process
// followers long-poll the elements' journals and need no bus.
// The bus is an accelerator, never the record: consumers keep following
// the journals themselves and use the bus only to learn of news sooner,
// so a lost or delayed message costs latency, not data.
package bus

import (
	"context"
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

// eventsOf turns a page of an element's journal into events.
func eventsOf(elementID string, ch artstore.Changes) []Event {
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
