package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// A committer is the only writer of an element's index and journal. It
// gathers the changes that concurrent requests submit and commits them
// together, one transaction (and so one fsync) per batch: group commit.
// Because it is the only writer, it can hand out journal sequence numbers
// from memory, and they have no gaps: a change that fails is rolled back to
// its savepoint and its numbers are taken back.
type committer struct {
	x    *index
	reqs chan *commitReq

	mu        sync.Mutex // guards the fields below, read by Info and Changes
	journalID string
	lastSeq   int64
	notify    chan struct{} // closed and replaced after each commit that journals

	stop chan struct{}
	done chan struct{}
}

// A commitReq is one request's change. Its fn runs inside the batch's
// transaction; it journals through the txn it is given.
type commitReq struct {
	fn  func(t *txn) error
	err chan error
}

// txn is what a change sees of the batch's transaction.
type txn struct {
	*sql.Tx
	c         *committer
	journalID string
	seq       int64 // the last sequence number handed out in this batch
	journal   bool  // whether the head must be written
}

// restartJournal starts a new journal with a new identity, for a rebuild.
// Entries appended after it are numbered from 1.
func (t *txn) restartJournal(journalID string) {
	t.journalID = journalID
	t.seq = 0
	t.journal = true
}

// appendChange journals a change and gives it the next sequence number.
func (t *txn) appendChange(c *artstore.Change) error {
	c.Seq = t.seq + 1
	if err := t.c.x.appendJournal(t.Tx, c); err != nil {
		return err
	}
	t.seq = c.Seq
	t.journal = true
	return nil
}

const maxBatch = 256

func newCommitter(x *index, journalID string, lastSeq int64) *committer {
	c := &committer{
		x:         x,
		reqs:      make(chan *commitReq, maxBatch),
		journalID: journalID,
		lastSeq:   lastSeq,
		notify:    make(chan struct{}),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go c.run()
	return c
}

// do submits fn and waits until its batch has committed.
func (c *committer) do(ctx context.Context, fn func(t *txn) error) error {
	req := &commitReq{fn: fn, err: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-c.stop:
		return errs.E("storage.commit", errs.Unavailable, errs.Msg("element is closing"))
	case <-ctx.Done():
		return errs.E("storage.commit", errs.Unavailable, ctx.Err())
	}
	// Once submitted, the change is committed or not whatever the caller's
	// context does, so wait for the outcome rather than for ctx.
	return <-req.err
}

// head returns the journal's identity and last sequence number, and a
// channel that is closed when more entries are committed.
func (c *committer) head() (journalID string, lastSeq int64, more <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.journalID, c.lastSeq, c.notify
}

func (c *committer) close() {
	close(c.stop)
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	batch := make([]*commitReq, 0, maxBatch)
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		case <-c.stop:
			// Finish what was submitted before the stop.
			for {
				select {
				case r := <-c.reqs:
					c.commit([]*commitReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

// commit runs a batch in one transaction. Each change runs under a
// savepoint, so that one failing change does not fail the others.
func (c *committer) commit(batch []*commitReq) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for i, r := range batch {
			if results[i] == nil {
				r.err <- errs.E("storage.commit", errs.Unavailable, err)
			} else {
				r.err <- results[i]
			}
		}
	}
	c.mu.Lock()
	t := &txn{c: c, seq: c.lastSeq, journalID: c.journalID}
	c.mu.Unlock()

	tx, err := c.x.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	t.Tx = tx
	for i, r := range batch {
		if len(batch) == 1 {
			results[i] = r.fn(t)
			if results[i] != nil {
				tx.Rollback()
				r.err <- results[i]
				return
			}
			continue
		}
		sp := fmt.Sprintf("c%d", i)
		if _, err := tx.Exec("SAVEPOINT " + sp); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		before, beforeID, beforeJ := t.seq, t.journalID, t.journal
		if err := r.fn(t); err != nil {
			results[i] = err
			t.seq, t.journalID, t.journal = before, beforeID, beforeJ
			if _, err := tx.Exec("ROLLBACK TO SAVEPOINT " + sp); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
		if _, err := tx.Exec("RELEASE SAVEPOINT " + sp); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if t.journal {
		if err := c.x.setHead(tx, t.journalID, t.seq); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// Nothing of the batch is durable; every change fails.
		for i := range results {
			results[i] = nil
		}
		fail(err)
		return
	}
	if t.journal {
		c.mu.Lock()
		c.lastSeq = t.seq
		c.journalID = t.journalID
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
	for i, r := range batch {
		r.err <- results[i]
	}
}
