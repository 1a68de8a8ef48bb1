package local

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDirSyncerCoalesces checks that concurrent callers share syncs, that
// every caller is covered by a sync that started after it asked, and that
// a failed sync is reported to those it covered.
func TestDirSyncerCoalesces(t *testing.T) {
	var (
		calls   atomic.Int64
		mu      sync.Mutex
		starts  []time.Time
		failing atomic.Bool
	)
	s := newDirSyncer(func(dir string) error {
		calls.Add(1)
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		if failing.Load() {
			return errors.New("disk on fire")
		}
		return nil
	})
	const n = 64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			asked := time.Now()
			if err := s.Sync("d"); err != nil {
				t.Error(err)
			}
			// Some sync must have started at or after the request.
			mu.Lock()
			defer mu.Unlock()
			for _, st := range starts {
				if !st.Before(asked) {
					return
				}
			}
			t.Error("a caller returned without a sync that started after it asked")
		}()
	}
	wg.Wait()
	if c := calls.Load(); c >= n/2 {
		t.Errorf("%d syncs for %d concurrent callers: not coalesced", c, n)
	}
	failing.Store(true)
	if err := s.Sync("d"); err == nil {
		t.Fatal("a failed sync was not reported")
	}
	if len(s.dirs) != 0 {
		t.Fatalf("%d directory states left behind", len(s.dirs))
	}
}
