package storage

import (
	"context"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Limits of a changes request.
const (
	MaxChangesLimit = 1000
	MaxChangesWait  = 5 * time.Minute
)

// Changes returns up to limit journal entries after since. When there are
// none and wait is positive, it waits until one is committed, wait has
// passed or ctx is done. LastSeq in the answer is the journal's head, which
// may be beyond the last entry returned when limit cut the page short.
func (e *Element) Changes(ctx context.Context, since int64, limit int, wait time.Duration) (artstore.Changes, error) {
	const op = "storage.Changes"
	if since < 0 {
		return artstore.Changes{}, errs.E(op, errs.Invalid, errs.Msg("since must not be negative"))
	}
	if limit <= 0 || limit > MaxChangesLimit {
		return artstore.Changes{}, errs.E(op, errs.Invalid, errs.Msg("limit must be from 1 to %d", MaxChangesLimit))
	}
	if wait < 0 || wait > MaxChangesWait {
		return artstore.Changes{}, errs.E(op, errs.Invalid, errs.Msg("wait must be from 0 to %s", MaxChangesWait))
	}
	var timer <-chan time.Time
	for {
		journalID, head, more := e.c.head()
		if head > since {
			items, err := e.x.changes(ctx, since, limit)
			if err != nil {
				return artstore.Changes{}, errs.E(op, err)
			}
			return artstore.Changes{Items: items, LastSeq: head, JournalID: journalID}, nil
		}
		if wait == 0 {
			return artstore.Changes{Items: []artstore.Change{}, LastSeq: head, JournalID: journalID}, nil
		}
		if timer == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-more:
		case <-timer:
			wait = 0
		case <-ctx.Done():
			return artstore.Changes{Items: []artstore.Change{}, LastSeq: head, JournalID: journalID}, nil
		}
	}
}
