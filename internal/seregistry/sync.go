package seregistry

import (
	"context"
	"sync"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// syncParallel bounds how many elements a round of polling asks at once,
// so that one slow element delays only its own slot.
const syncParallel = 8

// maxErrorBytes bounds a recorded last_error; transport errors can quote
// long URLs and bodies.
const maxErrorBytes = 1000

// Sync asks element id for its info now and records the answer. An element
// that cannot be reached, or answers as another element, is marked offline
// with the reason in LastError; that is the result of the sync, not an
// error of the call, which fails only when id is not registered or the
// database is down.
func (r *Registry) Sync(ctx context.Context, id string) (Entry, error) {
	const op = "seregistry.Sync"
	if err := checkID(id); err != nil {
		return Entry{}, errs.E(op, err)
	}
	e, err := r.get(ctx, id)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	e, err = r.sync(ctx, e)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	return e, nil
}

// SyncAll syncs every registered element, a few at a time, and returns the
// entries in fill order.
func (r *Registry) SyncAll(ctx context.Context) ([]Entry, error) {
	const op = "seregistry.SyncAll"
	entries, err := r.Entries(ctx)
	if err != nil {
		return nil, errs.E(op, err)
	}
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, syncParallel)
		out   = make([]Entry, len(entries))
		fails = make([]error, len(entries))
	)
	for i, e := range entries {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], fails[i] = r.sync(ctx, e)
		}()
	}
	wg.Wait()
	kept := out[:0]
	for i, err := range fails {
		switch {
		case err == nil:
			kept = append(kept, out[i])
		case errs.Is(errs.NotExist, err):
			// Deleted while the round ran: nothing to report.
		default:
			return nil, errs.E(op, err)
		}
	}
	return kept, nil
}

// sync asks the element of e for its info and records the outcome.
func (r *Registry) sync(ctx context.Context, e Entry) (Entry, error) {
	el := r.reach(e)
	cctx, cancel := context.WithTimeout(ctx, infoTimeout)
	info, err := el.Info(cctx)
	cancel()
	if err == nil {
		err = checkIdentity(e.ElementID, info)
	}
	if err != nil && ctx.Err() != nil {
		// The caller gave up; that says nothing about the element.
		return Entry{}, errs.E(errs.Unavailable, ctx.Err())
	}
	if err != nil {
		// Whatever answered at the URL may have sent anything; the
		// database stores valid UTF-8 without control characters only.
		reason := truncate(err.Error(), maxErrorBytes)
		if werr := r.saveFailure(ctx, e.ElementID, reason); werr != nil {
			return Entry{}, werr
		}
		if e.Status != StatusOffline {
			r.log.Warn("storage element offline", "element", e.ElementID, "url", e.URL, "err", err)
		}
	} else {
		if werr := r.saveInfo(ctx, info, time.Now()); werr != nil {
			return Entry{}, werr
		}
		if e.Status != StatusOnline {
			r.log.Info("storage element online", "element", e.ElementID, "url", e.URL)
		}
	}
	return r.get(ctx, e.ElementID)
}

// checkIdentity catches a URL that now serves a different element, as when
// an address is reused: its state must not be recorded as e's.
func checkIdentity(id string, info artstore.ElementInfo) error {
	if err := checkInfo(info); err != nil {
		return errs.E(errs.Invalid, errs.Msg("the answer is not a storage element's info: %v", err))
	}
	if info.ElementID != id {
		return errs.E(errs.Conflict, errs.Msg("the URL serves storage element %q, not %q", info.ElementID, id))
	}
	return nil
}

// Run polls every registered element every PollInterval, starting at
// once, until ctx is done. A round that fails (the database is down) is
// logged and retried at the next tick.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		if _, err := r.SyncAll(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("polling storage elements", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Totals sums a group of entries.
type Totals struct {
	Elements  int   `json:"elements"`
	FileCount int64 `json:"file_count"`
	// Capacity sums Total and Available over the elements with a limit
	// only, since an unlimited one has no figure to add; Used is summed
	// over all of them.
	Capacity  artstore.Capacity `json:"capacity"`
	Unlimited int               `json:"unlimited"` // elements without a capacity limit
}

func (t *Totals) add(e Entry) {
	t.Elements++
	t.FileCount += e.FileCount
	t.Capacity.Used += e.Capacity.Used
	if e.Capacity.Total <= 0 {
		t.Unlimited++
		return
	}
	t.Capacity.Total += e.Capacity.Total
	t.Capacity.Available += max(0, e.Capacity.Available)
}

// Summary is the registry at a glance: totals over every element, and the
// same by mode and by status. Every mode and status is present, with zeros
// when no element has it, so that readers need not test for absence.
type Summary struct {
	Totals
	ByMode   map[artstore.Mode]Totals `json:"by_mode"`
	ByStatus map[Status]Totals        `json:"by_status"`
}

// Summary totals the registry as last synced.
func (r *Registry) Summary(ctx context.Context) (Summary, error) {
	entries, err := r.all(ctx)
	if err != nil {
		return Summary{}, errs.E("seregistry.Summary", err)
	}
	s := Summary{ByMode: map[artstore.Mode]Totals{}, ByStatus: map[Status]Totals{}}
	for _, m := range []artstore.Mode{artstore.ModeEdit, artstore.ModeRW, artstore.ModeRO, artstore.ModeAR} {
		s.ByMode[m] = Totals{}
	}
	s.ByStatus[StatusOnline], s.ByStatus[StatusOffline] = Totals{}, Totals{}
	for _, e := range entries {
		s.Totals.add(e)
		m, st := s.ByMode[e.Mode], s.ByStatus[e.Status]
		m.add(e)
		st.add(e)
		s.ByMode[e.Mode], s.ByStatus[e.Status] = m, st
	}
	return s, nil
}
