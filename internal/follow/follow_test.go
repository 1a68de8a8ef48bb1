package follow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob/mem"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/follow"
	"github.com/artstore/artstore/internal/storage"
	"github.com/artstore/artstore/internal/testenv"
)

// memSink records what it is given, as a catalog would.
type memSink struct {
	mu      sync.Mutex
	cursors map[string]int64
	jids    map[string]string
	seen    map[string][]int64
}

func (s *memSink) Cursor(_ context.Context, id string) (string, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jids[id], s.cursors[id], nil
}

func (s *memSink) Apply(_ context.Context, id string, ch artstore.Changes) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range ch.Items {
		if ch.JournalID == s.jids[id] && c.Seq <= s.cursors[id] {
			continue
		}
		s.seen[id] = append(s.seen[id], c.Seq)
	}
	s.jids[id], s.cursors[id] = ch.JournalID, ch.LastSeq
	return nil
}

func (s *memSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen[id])
}

// following returns an edit element se-1 in memory holding n files, and a
// follower of it into an empty sink.
func following(t *testing.T, n int, cfg follow.Config) (*storage.Element, *memSink, *follow.Follower) {
	el, err := storage.Open(context.Background(), storage.Config{ID: "se-1", Mode: artstore.ModeEdit}, mem.New(), testenv.SQLite(t, "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { el.Close() })
	uploadN(t, el, n)
	fl := fleet.New(0)
	fl.Add("se-1", el)
	sink := &memSink{cursors: map[string]int64{}, jids: map[string]string{}, seen: map[string][]int64{}}
	return el, sink, follow.New(sink, fl, cfg)
}

// uploadN uploads n small files to el.
func uploadN(t *testing.T, el *storage.Element, n int) {
	for i := range n {
		if _, err := el.Upload(context.Background(), artstore.NewFile{Filename: fmt.Sprintf("f%d.txt", i), Size: -1}, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFollowPages follows a journal longer than one page, while it grows,
// and checks that every entry arrives exactly once and in order.
func TestFollowPages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	el, sink, f := following(t, 25, follow.Config{Batch: 7, Wait: time.Second})
	if n, err := f.CatchUp(ctx, "se-1"); n != 25 || err != nil {
		t.Fatalf("catch up: %d %v", n, err)
	}
	go f.Run(ctx)
	uploadN(t, el, 35)
	deadline := time.Now().Add(10 * time.Second)
	for sink.count("se-1") < 60 {
		if time.Now().After(deadline) {
			t.Fatalf("followed %d of 60 entries", sink.count("se-1"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i, seq := range sink.seen["se-1"] {
		if seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d: %v", i, seq, sink.seen["se-1"])
		}
	}
	if len(sink.seen["se-1"]) != 60 || sink.cursors["se-1"] != 60 {
		t.Fatalf("cursor %d after %d entries", sink.cursors["se-1"], len(sink.seen["se-1"]))
	}
}

// TestFromHead checks that a sink that starts at the head hears nothing
// of the journal's history, follows what comes after, and starts at the
// head again when the element rebuilds its journal.
func TestFromHead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	el, sink, f := following(t, 20, follow.Config{Batch: 7, FromHead: true})
	if n, err := f.CatchUp(ctx, "se-1"); n != 0 || err != nil || sink.count("se-1") != 0 || sink.cursors["se-1"] != 20 {
		t.Fatalf("catch up from nothing: %d %v, cursor %d, seen %v", n, err, sink.cursors["se-1"], sink.seen["se-1"])
	}
	uploadN(t, el, 3)
	if n, err := f.CatchUp(ctx, "se-1"); n != 3 || err != nil || fmt.Sprint(sink.seen["se-1"]) != "[21 22 23]" {
		t.Fatalf("catch up after 3 uploads: %d %v, seen %v", n, err, sink.seen["se-1"])
	}
	old := sink.jids["se-1"]
	if _, err := el.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := f.CatchUp(ctx, "se-1"); n != 0 || err != nil || sink.count("se-1") != 3 || sink.jids["se-1"] == old || sink.cursors["se-1"] != 23 {
		t.Fatalf("catch up after a rebuild: %d %v, journal %s (was %s), cursor %d, seen %v", n, err, sink.jids["se-1"], old, sink.cursors["se-1"], sink.seen["se-1"])
	}
}
