// Package ratelimit owns request rate limiting that holds across processes:
// the Store interface and its implementations (in memory for one process,
// SQL and Redis for many), the HTTP middleware that applies a limit to each
// request, and the Guard that slows down credential guessing at the token
// and login endpoints.
//
// # Semantics
//
// Every store counts with fixed windows aligned to the Unix epoch: a key
// with window w may be taken limit times in each interval [k·w, (k+1)·w),
// and its counter starts from zero when the next interval begins. Fixed
// windows were chosen over sliding ones because they need exactly one
// atomic increment per request in every backend, which is what keeps the
// limit exact under concurrency; the price is that a client may spend two
// windows' worth of requests around a boundary, which the limits here (abuse
// protection, not billing) can afford. Refused requests are counted too;
// that costs a client nothing extra, because the counter starts from zero
// with the next window whatever its value.
//
// Windows are computed from the clock of the process that calls Take, so
// the processes sharing a store need synchronised clocks (NTP). A counter
// always belongs to the newest window any process has reported for it: a
// process whose clock lags behind counts against its peers' window instead
// of resetting it, so clock skew can only delay a reset, never double the
// limit.
//
// A key should be used with one window length; the middleware and the Guard
// guarantee that by construction.
package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// Store counts requests per key in fixed windows. Implementations are safe
// for concurrent use.
type Store interface {
	// Take counts one request against key, which may make limit requests
	// per window, and reports whether this one is allowed.
	Take(ctx context.Context, key string, limit int, window time.Duration) (Decision, error)
}

// Decision is the outcome of one Take.
type Decision struct {
	Allowed   bool
	Limit     int       // the limit the request was counted against
	Remaining int       // requests still allowed in the current window
	Reset     time.Time // when the current window ends and the counter resets
	// RetryAfter is how long a refused client should wait before trying
	// again: the time until Reset. It is zero when the request is allowed.
	RetryAfter time.Duration
}

// purgeEvery is how often a store deletes the counters of past windows.
// Purging is only housekeeping, since a stale counter is reset by the next
// Take anyway, so once a minute keeps it off the hot path.
const purgeEvery = time.Minute

// checkArgs rejects arguments no store can honour. Windows are counted in
// whole milliseconds, the resolution every backend stores.
func checkArgs(op, key string, limit int, window time.Duration) error {
	switch {
	case key == "":
		return errs.E(op, errs.Invalid, errs.Msg("empty rate limit key"))
	case limit < 1:
		return errs.E(op, errs.Invalid, errs.Msg("rate limit %d is not positive", limit))
	case window < time.Millisecond || window%time.Millisecond != 0:
		return errs.E(op, errs.Invalid, errs.Msg("rate limit window %v is not a positive whole number of milliseconds", window))
	}
	return nil
}

// windowOf returns the start and the end, in Unix milliseconds, of the
// window of length w that contains now.
func windowOf(now time.Time, w time.Duration) (start, end int64) {
	ms := now.UnixMilli()
	wm := w.Milliseconds()
	start = ms - mod(ms, wm)
	return start, start + wm
}

// mod is the non-negative remainder of a by b, so that windows before 1970
// (only ever seen with broken clocks) still align.
func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// decide turns a counter into a Decision. hits is the count after this
// request was added; start is the window the counter belongs to, which may
// be newer than the caller's own if another process's clock runs ahead.
func decide(now time.Time, limit int, window time.Duration, hits, start int64) Decision {
	reset := time.UnixMilli(start + window.Milliseconds())
	d := Decision{Allowed: hits <= int64(limit), Limit: limit, Reset: reset}
	if d.Allowed {
		d.Remaining = int(int64(limit) - hits)
	} else {
		d.RetryAfter = max(reset.Sub(now), time.Millisecond)
	}
	return d
}

// retryAfterSeconds is d rounded up to whole seconds, at least 1, as the
// Retry-After header needs it: rounding down would invite a client back
// before the window has reset.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// resetSeconds is t in Unix seconds, rounded up for the same reason.
func resetSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
