// Package follow keeps a consumer in step with the journals of storage
// elements. For each element it reads GET /api/v1/changes (or the
// in-process equivalent) from the consumer's durable cursor, long-polling
// when there is nothing new, and hands each page to the consumer, which
// applies it and moves its cursor in one transaction. The journal is the
// log of record: whatever else wakes the follower early (an event bus),
// nothing is ever taken from anywhere but the journal, so nothing is lost.
package follow

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
)

// Sink is a consumer of journals: the file registry, a search index.
type Sink interface {
	// Cursor is where the sink stands in the element's journal.
	Cursor(ctx context.Context, elementID string) (journalID string, seq int64, err error)
	// Apply applies a page of the element's journal and moves the cursor
	// to ch.LastSeq, atomically and idempotently. The follower sets
	// LastSeq to the page's last entry (the element reports its journal's
	// head there, which may lie beyond a page that the limit cut short).
	Apply(ctx context.Context, elementID string, ch artstore.Changes) error
}

// Config tunes a Follower.
type Config struct {
	Wait  time.Duration // how long one long poll waits; default 25s
	Batch int           // entries per page; default 500
	// Backoff is the first pause after an error; it doubles up to a
	// minute. Default 200ms.
	Backoff time.Duration
	Logger  *slog.Logger
	// Rebuilt, when set, is called after the first page of a rebuilt
	// journal is applied. The new journal holds the files the element
	// has, not the deletes the old one held past the sink's cursor, so the
	// sink must be compared with the element (reconciled) to drop those
	// files. It runs in the element's follower, which waits for it.
	Rebuilt func(ctx context.Context, elementID string)
	// FromHead makes a sink that has no cursor in an element's current
	// journal (a new sink, or a journal the element rebuilt) start at the
	// journal's head instead of its first entry: it wants what happens
	// from now on, not the history. The relay to an event bus is such a
	// sink: its subscribers read the journals themselves for anything they
	// have not heard of, so republishing the history would only fill the
	// bus.
	FromHead bool
}

// Follower follows every element of a fleet into one sink.
type Follower struct {
	sink  Sink
	fleet *fleet.Fleet
	cfg   Config

	mu    sync.Mutex
	kicks map[string]chan struct{}
}

// New returns a follower of the fleet's elements into sink.
func New(sink Sink, fl *fleet.Fleet, cfg Config) *Follower {
	if cfg.Wait <= 0 {
		cfg.Wait = 25 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Follower{sink: sink, fleet: fl, cfg: cfg, kicks: map[string]chan struct{}{}}
}

// Run follows every element until ctx is done, including elements that
// join the fleet later (checked every few seconds).
func (f *Follower) Run(ctx context.Context) {
	var wg sync.WaitGroup
	started := map[string]bool{}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		for _, id := range f.fleet.IDs() {
			if started[id] {
				continue
			}
			started[id] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.follow(ctx, id)
			}()
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Kick cuts short the pause after an error on elementID's feed, for a
// caller that has heard from elsewhere (an event bus) that it has news.
func (f *Follower) Kick(elementID string) {
	f.mu.Lock()
	ch := f.kicks[elementID]
	f.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (f *Follower) follow(ctx context.Context, id string) {
	kick := make(chan struct{}, 1)
	f.mu.Lock()
	f.kicks[id] = kick
	f.mu.Unlock()
	log := f.cfg.Logger.With("element", id)
	backoff := f.cfg.Backoff
	for ctx.Err() == nil {
		_, err := f.step(ctx, id, f.cfg.Wait)
		if err == nil {
			backoff = f.cfg.Backoff
			continue
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("following the element's journal", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// step reads one page after the sink's cursor, waiting up to wait for
// one, applies it and returns how many entries it held.
func (f *Follower) step(ctx context.Context, id string, wait time.Duration) (int, error) {
	const op = "follow.step"
	el, err := f.fleet.Get(id)
	if err != nil {
		return 0, err
	}
	journalID, seq, err := f.sink.Cursor(ctx, id)
	if err != nil {
		return 0, errs.E(op, err)
	}
	if f.cfg.FromHead && journalID == "" {
		return 0, f.skipToHead(ctx, id, el)
	}
	ch, err := el.Changes(ctx, seq, f.cfg.Batch, wait)
	if err != nil {
		return 0, errs.E(op, err)
	}
	rebuilt := journalID != "" && ch.JournalID != journalID && seq > 0
	if rebuilt && f.cfg.FromHead {
		return 0, f.skipToHead(ctx, id, el)
	}
	if rebuilt {
		// The element rebuilt its journal: its numbers start again, so
		// read the new one from the start. The sink's version rules keep
		// the replay from undoing newer state.
		if ch, err = el.Changes(ctx, 0, f.cfg.Batch, 0); err != nil {
			return 0, errs.E(op, err)
		}
	}
	if len(ch.Items) == 0 && ch.JournalID == journalID {
		return 0, nil
	}
	if n := len(ch.Items); n > 0 {
		ch.LastSeq = ch.Items[n-1].Seq
	} else {
		ch.LastSeq = 0 // a new, empty journal
	}
	if err := f.sink.Apply(ctx, id, ch); err != nil {
		return 0, errs.E(op, err)
	}
	if rebuilt && f.cfg.Rebuilt != nil {
		f.cfg.Logger.Info("the element rebuilt its journal; reconciling", "element", id, "journal_id", ch.JournalID)
		f.cfg.Rebuilt(ctx, id)
	}
	return len(ch.Items), nil
}

// skipToHead moves the sink's cursor to the head of the element's
// journal, applying none of its entries.
func (f *Follower) skipToHead(ctx context.Context, id string, el artstore.Element) error {
	// The element reports its journal's head whatever the page holds.
	ch, err := el.Changes(ctx, 0, 1, 0)
	if err != nil {
		return errs.E("follow.step", err)
	}
	f.cfg.Logger.Info("starting at the head of the element's journal", "element", id, "journal_id", ch.JournalID, "seq", ch.LastSeq)
	if err := f.sink.Apply(ctx, id, artstore.Changes{JournalID: ch.JournalID, LastSeq: ch.LastSeq, Items: []artstore.Change{}}); err != nil {
		return errs.E("follow.step", err)
	}
	return nil
}

// CatchUp applies everything the element's journal holds beyond the
// sink's cursor, without waiting for more, and returns how many entries
// it applied.
func (f *Follower) CatchUp(ctx context.Context, id string) (int, error) {
	total := 0
	for {
		n, err := f.step(ctx, id, 0)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Offer takes an entry pushed by an event bus: when it is the next entry
// after the sink's cursor it is applied at once; otherwise (a gap, another
// journal) the element's follower is woken to read the journal, which is
// the record. Either way nothing is lost if the bus drops entries.
func (f *Follower) Offer(ctx context.Context, elementID, journalID string, c artstore.Change) error {
	jid, seq, err := f.sink.Cursor(ctx, elementID)
	if err != nil || jid != journalID || c.Seq != seq+1 {
		f.Kick(elementID)
		return nil
	}
	ch := artstore.Changes{Items: []artstore.Change{c}, LastSeq: c.Seq, JournalID: journalID}
	return f.sink.Apply(ctx, elementID, ch)
}
