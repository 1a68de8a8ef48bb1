package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func page(jid string, from, to int64) artstore.Changes {
	ch := artstore.Changes{JournalID: jid, LastSeq: to}
	for s := from; s <= to; s++ {
		ch.Items = append(ch.Items, artstore.Change{Seq: s, Type: artstore.FileCreated,
			FileID: fmt.Sprintf("00000000-0000-0000-0000-%012d", s), Version: 1, At: time.Now().UTC()})
	}
	return ch
}

// collector gathers the events a subscriber received.
type collector struct {
	mu   sync.Mutex
	seqs []int64
	fail map[int64]bool // events to refuse once
}

func (c *collector) handle(_ context.Context, ev Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail[ev.Seq] {
		delete(c.fail, ev.Seq)
		return errors.New("refused")
	}
	c.seqs = append(c.seqs, ev.Seq)
	return nil
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seqs)
}

func TestRedisBus(t *testing.T) {
	srv := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := OpenRedis(ctx, srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Block = 200 * time.Millisecond
	r.MinIdle = 300 * time.Millisecond

	// A group starts at the end of the stream.
	var a collector
	go r.Subscribe(ctx, "catalog", "a", a.handle)
	testenv.Eventually(t, 15*time.Second, "the group", func() bool { n, _ := r.rdb.XInfoGroups(ctx, Stream).Result(); return len(n) == 1 })

	if err := r.Apply(ctx, "se-1", page("j1", 1, 5)); err != nil {
		t.Fatal(err)
	}
	if jid, seq, err := r.Cursor(ctx, "se-1"); jid != "j1" || seq != 5 || err != nil {
		t.Fatalf("cursor %q %d %v", jid, seq, err)
	}
	testenv.Eventually(t, 15*time.Second, "five events", func() bool { return a.count() == 5 })
	if fmt.Sprint(a.seqs) != "[1 2 3 4 5]" {
		t.Fatalf("order %v", a.seqs)
	}

	// Everything is acknowledged, so trimming removes it all.
	testenv.Eventually(t, 15*time.Second, "acknowledgements", func() bool { p, _ := r.rdb.XPending(ctx, Stream, "catalog").Result(); return p.Count == 0 })
	if n, err := r.Trim(ctx); n != 5 || err != nil {
		t.Fatalf("trim removed %d: %v", n, err)
	}

	// A refused event stays pending and is claimed again after MinIdle.
	a.mu.Lock()
	a.fail = map[int64]bool{7: true}
	a.mu.Unlock()
	r.Apply(ctx, "se-1", page("j1", 6, 8))
	testenv.Eventually(t, 15*time.Second, "the refused event to come back", func() bool { return a.count() == 8 })
	// Trimming never drops what a group has not acknowledged.
	var b collector
	bctx, bcancel := context.WithCancel(ctx)
	go r.Subscribe(bctx, "other", "b", b.handle)
	testenv.Eventually(t, 15*time.Second, "the second group", func() bool { n, _ := r.rdb.XInfoGroups(ctx, Stream).Result(); return len(n) == 2 })
	bcancel()
	r.Apply(ctx, "se-1", page("j1", 9, 9))
	testenv.Eventually(t, 15*time.Second, "event 9", func() bool { return a.count() == 9 })
	r.Trim(ctx)
	if n, _ := r.Len(ctx); n != 1 {
		t.Fatalf("stream holds %d entries; the unread one must stay", n)
	}

	// Redis stops and starts with nothing: the subscriber comes back and
	// the relay's cursor is gone, so it publishes again from the start.
	srv.Stop()
	time.Sleep(300 * time.Millisecond)
	srv.Start()
	if _, seq, _ := r.Cursor(ctx, "se-1"); seq != 0 {
		t.Fatalf("cursor survived a restart without data: %d", seq)
	}
	testenv.Eventually(t, 15*time.Second, "the group to come back", func() bool { n, _ := r.rdb.XInfoGroups(ctx, Stream).Result(); return len(n) >= 1 })
	r.Apply(ctx, "se-1", page("j1", 10, 11))
	testenv.Eventually(t, 15*time.Second, "events after the restart", func() bool { return a.count() == 11 })
}
