package fleet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/sehttp"
	"github.com/artstore/artstore/internal/testenv"
)

// element is a storage element's info endpoint whose answers a test
// controls: the mode and room it reports, and whether it hangs.
type element struct {
	id    string
	asked atomic.Int32

	mu        sync.Mutex
	mode      artstore.Mode
	available int64
	hang      chan struct{} // while set, asks wait for it to close
	onAsk     func()        // when set, called as each ask arrives
}

func (e *element) set(mode artstore.Mode, available int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mode, e.available = mode, available
}

func (e *element) hangUntil(release chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hang = release
}

// start serves e over HTTP and returns a client of it, as a fleet holds a
// remote element.
func (e *element) start(t *testing.T) artstore.Element {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/info" {
			http.NotFound(w, r)
			return
		}
		e.asked.Add(1)
		e.mu.Lock()
		hang, onAsk := e.hang, e.onAsk
		info := artstore.ElementInfo{ElementID: e.id, Mode: e.mode, Capacity: artstore.Capacity{Total: 1 << 30, Available: e.available}}
		e.mu.Unlock()
		if onAsk != nil {
			onAsk()
		}
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(info)
	}))
	t.Cleanup(srv.Close)
	return sehttp.NewClient(srv.URL, nil, nil)
}

func ids(cs []fleet.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestSlowElement checks that an element that stops answering delays no
// upload once it has answered: its last answer stands while it is asked
// again in the background, and callers asking together share one ask.
func TestSlowElement(t *testing.T) {
	ctx := context.Background()
	a, b := &element{id: "a", mode: artstore.ModeRW, available: 1 << 20}, &element{id: "b", mode: artstore.ModeRW, available: 1 << 20}
	fl := fleet.New(50 * time.Millisecond)
	fl.Add("a", a.start(t))
	fl.Add("b", b.start(t))

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if got := ids(fl.Candidates(ctx, artstore.ModeRW, 100)); len(got) != 2 {
				t.Errorf("candidates %v, want a and b", got)
			}
		})
	}
	wg.Wait()
	if n := a.asked.Load(); n != 1 {
		t.Fatalf("ten callers asked element a %d times, want once", n)
	}

	release := make(chan struct{})
	defer close(release)
	a.hangUntil(release)
	time.Sleep(60 * time.Millisecond) // past the ttl
	start := time.Now()
	for range 20 {
		if got := ids(fl.Candidates(ctx, artstore.ModeRW, 100)); len(got) != 2 {
			t.Fatalf("candidates %v while a hangs, want its last answer to stand", got)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("20 choices took %v while an element hung", took)
	}
	testenv.Eventually(t, 5*time.Second, "element a to be asked again", func() bool { return a.asked.Load() >= 2 })
	fl.Candidates(ctx, artstore.ModeRW, 100)
	if n := a.asked.Load(); n != 2 {
		t.Fatalf("element a asked %d times, want one ask in flight after the first", n)
	}
}

// TestInvalidate checks that an element that refused an upload is left out
// until it answers again, and that its new answer counts: full, it stays
// out; with room again, it comes back.
func TestInvalidate(t *testing.T) {
	ctx := context.Background()
	a, b := &element{id: "a", mode: artstore.ModeRW, available: 1 << 20}, &element{id: "b", mode: artstore.ModeRW, available: 1 << 20}
	fl := fleet.New(time.Hour)
	fl.Add("a", a.start(t))
	fl.Add("b", b.start(t))
	fl.SetPriority("b", 5)
	if got := ids(fl.Candidates(ctx, artstore.ModeRW, 100)); len(got) != 2 || got[0] != "a" {
		t.Fatalf("candidates %v, want a then b", got)
	}
	a.set(artstore.ModeRW, 0)
	release := make(chan struct{})
	a.hangUntil(release)
	fl.Invalidate("a")
	if got := ids(fl.Candidates(ctx, artstore.ModeRW, 100)); len(got) != 1 || got[0] != "b" {
		t.Fatalf("candidates %v while a is asked again, want b alone", got)
	}
	close(release)
	a.hangUntil(nil)
	testenv.Eventually(t, 5*time.Second, "the full element's new answer", func() bool { return a.asked.Load() == 2 })
	if got := ids(fl.Candidates(ctx, artstore.ModeRW, 100)); len(got) != 1 || got[0] != "b" {
		t.Fatalf("candidates %v with a full, want b alone", got)
	}
	a.set(artstore.ModeRW, 1<<20)
	fl.Invalidate("a")
	testenv.Eventually(t, 5*time.Second, "element a back", func() bool {
		got := ids(fl.Candidates(ctx, artstore.ModeRW, 100))
		return len(got) == 2 && got[0] == "a"
	})
}

// TestFirstAskTogether checks that the first choice asks every element at
// once: element a answers only once b has been asked, which asking one
// after the other would never do within the ask's time limit.
func TestFirstAskTogether(t *testing.T) {
	a, b := &element{id: "a", mode: artstore.ModeRW, available: 1 << 20}, &element{id: "b", mode: artstore.ModeRW, available: 1 << 20}
	bAsked := make(chan struct{})
	var once sync.Once
	b.onAsk = func() { once.Do(func() { close(bAsked) }) }
	a.hangUntil(bAsked)
	fl := fleet.New(time.Hour)
	fl.Add("a", a.start(t))
	fl.Add("b", b.start(t))
	if got := ids(fl.Candidates(context.Background(), artstore.ModeRW, 100)); len(got) != 2 {
		t.Fatalf("candidates %v, want a and b", got)
	}
}
