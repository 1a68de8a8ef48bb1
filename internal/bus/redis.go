package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// The Redis keys of the bus.
const (
	Stream     = "artstore:file-events"   // the stream of events
	cursorsKey = "artstore:relay:cursors" // element id → "journal_id seq" published so far
)

// Redis is the bus on Redis Streams. Its relay side (Cursor and Apply) is
// a follow.Sink: a follower of every element's journal publishes each
// entry with XADD and moves the relay's cursor in the same MULTI/EXEC, so
// that after a restart the relay resumes where it stopped. Subscribers
// read through consumer groups, acknowledge what they processed, and
// re-claim entries another consumer of their group left pending. The
// stream is trimmed only below what every group has passed.
type Redis struct {
	rdb *redis.Client
	log *slog.Logger
	// MinIdle is how long an entry stays pending before another consumer
	// of its group may claim it.
	MinIdle time.Duration
	// Block is how long one read waits for new entries.
	Block time.Duration
}

// OpenRedis returns the bus on the Redis at url (redis://host:port/db).
func OpenRedis(ctx context.Context, url string, log *slog.Logger) (*Redis, error) {
	const op = "bus.OpenRedis"
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Redis{rdb: redis.NewClient(opts), log: log, MinIdle: 30 * time.Second, Block: 5 * time.Second}
	// The bus only accelerates: a process starts without it and the
	// client connects when Redis comes.
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		log.Warn("the event bus is not reachable yet; following the journals meanwhile", "err", err)
	}
	return r, nil
}

// Close closes the connection.
func (r *Redis) Close() error { return r.rdb.Close() }

// Cursor is where the relay stands in an element's journal.
func (r *Redis) Cursor(ctx context.Context, elementID string) (string, int64, error) {
	v, err := r.rdb.HGet(ctx, cursorsKey, elementID).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, errs.E("bus.Cursor", errs.Unavailable, err)
	}
	jid, seq, _ := strings.Cut(v, " ")
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return "", 0, nil
	}
	return jid, n, nil
}

// Apply publishes a page of an element's journal and moves the relay's
// cursor past it, atomically.
func (r *Redis) Apply(ctx context.Context, elementID string, ch artstore.Changes) error {
	evs := eventsOf(elementID, ch)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, ev := range evs {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: Stream, Values: []any{
				"element_id", ev.ElementID, "seq", ev.Seq, "type", string(ev.Type), "file_id", ev.FileID, "event", b}})
		}
		p.HSet(ctx, cursorsKey, elementID, fmt.Sprintf("%s %d", ch.JournalID, ch.LastSeq))
		return nil
	})
	if err != nil {
		return errs.E("bus.Publish", errs.Unavailable, err)
	}
	return nil
}

// Subscribe delivers the stream's events to fn as consumer of group until
// ctx is done. A new group starts at the end of the stream: its consumer
// reads the journals for what came before. Redis being away is waited
// out; a group lost with Redis's data is created again.
func (r *Redis) Subscribe(ctx context.Context, group, consumer string, fn Handler) error {
	backoff := 100 * time.Millisecond
	created := false
	for ctx.Err() == nil {
		err := func() error {
			if !created {
				if err := r.ensureGroup(ctx, group); err != nil {
					return err
				}
				created = true
			}
			if err := r.claim(ctx, group, consumer, fn); err != nil {
				return err
			}
			return r.read(ctx, group, consumer, fn)
		}()
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if strings.Contains(err.Error(), "NOGROUP") {
			created = false
		}
		r.log.Debug("event bus unavailable", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (r *Redis) ensureGroup(ctx context.Context, group string) error {
	err := r.rdb.XGroupCreateMkStream(ctx, Stream, group, "$").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return err
	}
	return nil
}

// claim takes over the entries of the group that have been pending for
// longer than MinIdle (their consumer died) and processes them.
func (r *Redis) claim(ctx context.Context, group, consumer string, fn Handler) error {
	start := "0-0"
	for {
		msgs, next, err := r.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: Stream, Group: group, Consumer: consumer, MinIdle: r.MinIdle, Start: start, Count: 100}).Result()
		if err != nil {
			return err
		}
		if err := r.handle(ctx, group, msgs, fn); err != nil {
			return err
		}
		if next == "0-0" || len(msgs) == 0 {
			return nil
		}
		start = next
	}
}

// read waits for new entries and processes them.
func (r *Redis) read(ctx context.Context, group, consumer string, fn Handler) error {
	res, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{Stream, ">"}, Count: 100, Block: r.Block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, s := range res {
		if err := r.handle(ctx, group, s.Messages, fn); err != nil {
			return err
		}
	}
	return nil
}

// handle passes messages to fn and acknowledges those it processed.
func (r *Redis) handle(ctx context.Context, group string, msgs []redis.XMessage, fn Handler) error {
	var done []string
	for _, m := range msgs {
		var ev Event
		raw, _ := m.Values["event"].(string)
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			// Not ours to process, and never will be: acknowledge it.
			done = append(done, m.ID)
			continue
		}
		if err := fn(ctx, ev); err != nil {
			continue // stays pending and is claimed again later
		}
		done = append(done, m.ID)
	}
	if len(done) == 0 {
		return nil
	}
	return r.rdb.XAck(ctx, Stream, group, done...).Err()
}

// Trim removes the entries every group has read and acknowledged. With no
// group at all it removes nothing.
func (r *Redis) Trim(ctx context.Context) (int64, error) {
	const op = "bus.Trim"
	groups, err := r.rdb.XInfoGroups(ctx, Stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, errs.E(op, errs.Unavailable, err)
	}
	if len(groups) == 0 {
		return 0, nil
	}
	minID := ""
	for _, g := range groups {
		id := g.LastDeliveredID
		if g.Pending > 0 {
			p, err := r.rdb.XPending(ctx, Stream, g.Name).Result()
			if err != nil {
				return 0, errs.E(op, errs.Unavailable, err)
			}
			id = p.Lower
		} else {
			id = nextID(id)
		}
		if minID == "" || lessID(id, minID) {
			minID = id
		}
	}
	n, err := r.rdb.XTrimMinID(ctx, Stream, minID).Result()
	if err != nil {
		return 0, errs.E(op, errs.Unavailable, err)
	}
	return n, nil
}

// Len is the number of entries in the stream.
func (r *Redis) Len(ctx context.Context) (int64, error) { return r.rdb.XLen(ctx, Stream).Result() }

// nextID is the stream id just after id, so that MINID keeps nothing
// that a group has already passed.
func nextID(id string) string {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		return id
	}
	return ms + "-" + strconv.FormatUint(n+1, 10)
}

// lessID compares two stream ids.
func lessID(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ami, _ := strconv.ParseUint(am, 10, 64)
	bmi, _ := strconv.ParseUint(bm, 10, 64)
	if ami != bmi {
		return ami < bmi
	}
	asi, _ := strconv.ParseUint(as, 10, 64)
	bsi, _ := strconv.ParseUint(bs, 10, 64)
	return asi < bsi
}
