package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/artstore/artstore/internal/bus"
	"github.com/artstore/artstore/internal/testcluster"
	"github.com/artstore/artstore/internal/testenv"
)

// TestRelayStartsAtHead starts a process with Redis over elements that
// already hold files: the relay publishes none of that history, only what
// happens after it started.
func TestRelayStartsAtHead(t *testing.T) {
	rs := testenv.Redis(t)
	c := testcluster.Start(t, noBackground)
	admin := c.AdminToken()
	for i := range 3 {
		mustFile(t, upload(t, c, "edit-01", admin, fmt.Sprintf("old-%d.txt", i), "old"), 201)
	}
	c.Config.Bus.RedisURL = rs.URL()
	c.Restart()
	opts, err := redis.ParseURL(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	// The relay has started once it has a cursor for the element.
	testenv.Eventually(t, 10*time.Second, "the relay's cursor", func() bool {
		ok, _ := rdb.HExists(ctx, "artstore:relay:cursors", "edit-01").Result()
		return ok
	})
	f := mustFile(t, upload(t, c, "edit-01", admin, "new.txt", "new"), 201)
	var entries []redis.XMessage
	testenv.Eventually(t, 10*time.Second, "the new upload in the stream", func() bool {
		entries, _ = rdb.XRange(ctx, bus.Stream, "-", "+").Result()
		return len(entries) > 0
	})
	time.Sleep(200 * time.Millisecond) // anything else the relay would publish
	entries, _ = rdb.XRange(ctx, bus.Stream, "-", "+").Result()
	if len(entries) != 1 || entries[0].Values["file_id"] != f.FileID {
		t.Fatalf("the stream holds %v, want only the upload of %s", entries, f.FileID)
	}
}
