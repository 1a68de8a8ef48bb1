package ratelimit

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// clock is a settable time source shared by the stores of one test, so
// that window boundaries fall where the test puts them.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock returns a clock 250ms into an hour, which every window used in
// these tests divides, so each test starts just after a window boundary.
func newClock() *clock {
	ms := time.Now().UnixMilli()
	hour := time.Hour.Milliseconds()
	return &clock{t: time.UnixMilli(ms - ms%hour + 250)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// opener returns a fresh Store reading time from now. Stores opened by one
// opener may share their backing database or server; the suite keeps them
// apart by key.
type opener func(t *testing.T, now func() time.Time) Store

// testConformance is the suite every Store must pass.
func testConformance(t *testing.T, open opener) {
	ctx := context.Background()

	t.Run("Fields", func(t *testing.T) {
		clk := newClock()
		s := open(t, clk.Now)
		d, err := s.Take(ctx, t.Name(), 5, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		wantReset := clk.Now().Add(time.Minute - 250*time.Millisecond)
		want := Decision{Allowed: true, Limit: 5, Remaining: 4, Reset: wantReset}
		if !sameDecision(d, want) {
			t.Fatalf("first Take = %+v, want %+v", d, want)
		}
	})

	t.Run("ConcurrentExact", func(t *testing.T) {
		clk := newClock()
		testExactUnderConcurrency(t, clk, []Store{open(t, clk.Now)}, t.Name())
	})

	t.Run("WindowReset", func(t *testing.T) {
		clk := newClock()
		s := open(t, clk.Now)
		const limit, window = 3, 10 * time.Second
		take := func() Decision {
			t.Helper()
			d, err := s.Take(ctx, t.Name(), limit, window)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for i := range limit {
			if d := take(); !d.Allowed || d.Remaining != limit-1-i {
				t.Fatalf("take %d = %+v, want allowed with %d remaining", i+1, d, limit-1-i)
			}
		}
		refused := take()
		wantWait := window - 250*time.Millisecond
		if refused.Allowed || refused.Remaining != 0 || refused.RetryAfter != wantWait {
			t.Fatalf("take over the limit = %+v, want refused with RetryAfter %v", refused, wantWait)
		}
		if got := clk.Now().Add(refused.RetryAfter); !got.Equal(refused.Reset) {
			t.Fatalf("now + RetryAfter = %v, want Reset %v", got, refused.Reset)
		}
		clk.Advance(refused.RetryAfter - time.Millisecond)
		if d := take(); d.Allowed || d.RetryAfter != time.Millisecond {
			t.Fatalf("take 1ms before the reset = %+v, want refused for 1ms", d)
		}
		clk.Advance(time.Millisecond)
		d := take()
		want := Decision{Allowed: true, Limit: limit, Remaining: limit - 1, Reset: refused.Reset.Add(window)}
		if !sameDecision(d, want) {
			t.Fatalf("take after the reset = %+v, want %+v", d, want)
		}
	})

	t.Run("IndependentKeys", func(t *testing.T) {
		clk := newClock()
		s := open(t, clk.Now)
		a, b := t.Name()+":a", t.Name()+":b"
		for range 3 {
			if _, err := s.Take(ctx, a, 2, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if d, _ := s.Take(ctx, a, 2, time.Minute); d.Allowed {
			t.Fatalf("key a over its limit allowed: %+v", d)
		}
		d, err := s.Take(ctx, b, 2, time.Minute)
		if err != nil || !d.Allowed || d.Remaining != 1 {
			t.Fatalf("key b = %+v, %v; want allowed with 1 remaining", d, err)
		}
	})

	t.Run("InvalidArguments", func(t *testing.T) {
		s := open(t, time.Now)
		for _, tc := range []struct {
			name   string
			key    string
			limit  int
			window time.Duration
		}{
			{"empty key", "", 1, time.Second},
			{"zero limit", "k", 0, time.Second},
			{"negative limit", "k", -1, time.Second},
			{"zero window", "k", 1, 0},
			{"sub-millisecond window", "k", 1, 1500 * time.Microsecond},
		} {
			if _, err := s.Take(ctx, tc.key, tc.limit, tc.window); !errs.Is(errs.Invalid, err) {
				t.Errorf("%s: err = %v, want Invalid", tc.name, err)
			}
		}
	})
}

// testExactUnderConcurrency has 16 goroutines take one key in stores, in
// turn, far more often than the limit allows, and checks that exactly limit
// takes were allowed, each seeing a different Remaining.
func testExactUnderConcurrency(t *testing.T, clk *clock, stores []Store, key string) {
	t.Helper()
	const limit, workers, each = 37, 16, 8
	var (
		mu        sync.Mutex
		remaining []int
		refused   []Decision
		wg        sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			for range each {
				d, err := s.Take(context.Background(), key, limit, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if d.Allowed {
					remaining = append(remaining, d.Remaining)
				} else {
					refused = append(refused, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(remaining) != limit || len(refused) != workers*each-limit {
		t.Fatalf("%d allowed and %d refused, want %d and %d", len(remaining), len(refused), limit, workers*each-limit)
	}
	sort.Ints(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("Remaining of the allowed takes = %v, want each of 0..%d once", remaining, limit-1)
		}
	}
	wantWait := time.Hour - 250*time.Millisecond
	for _, d := range refused {
		if d.Remaining != 0 || d.Limit != limit || d.RetryAfter != wantWait || !clk.Now().Add(wantWait).Equal(d.Reset) {
			t.Fatalf("refused decision %+v, want Remaining 0, RetryAfter %v", d, wantWait)
		}
	}
}

// sameDecision compares decisions, with times compared as instants.
func sameDecision(a, b Decision) bool {
	return a.Allowed == b.Allowed && a.Limit == b.Limit && a.Remaining == b.Remaining &&
		a.Reset.Equal(b.Reset) && a.RetryAfter == b.RetryAfter
}
