package ratelimit

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/artstore/artstore/internal/errs"
)

// keyPrefix namespaces this package's keys in a Redis shared with the
// event bus and whatever else an operator keeps there.
const keyPrefix = "artstore:ratelimit:"

// takeScript counts one request in a hash {w: window start, n: hits}. It
// runs as one Lua script so that reading the window, resetting or
// incrementing, and setting the expiry are a single atomic step on the
// server. The expiry is set only when a window starts, by the process that
// starts it, and lasts a window beyond the window's end so that a process
// whose clock lags still finds the counter.
//
// KEYS[1] the counter; ARGV[1] the caller's window start (Unix ms);
// ARGV[2] the expiry in milliseconds. Returns {hits, window start}.
var takeScript = redis.NewScript(`
local w = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'w', 'n')
local cw = tonumber(cur[1])
if cw == nil or w > cw then
	redis.call('HSET', KEYS[1], 'w', ARGV[1], 'n', 1)
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return {1, w}
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
return {n, cw}
`)

// Redis is a Store in Redis, shared by every process that uses the same
// server. Counters expire by themselves, so the store needs no purging.
type Redis struct {
	rdb *redis.Client
	now func() time.Time
}

// NewRedis returns the store on the Redis at url (redis://host:port/db). It
// does not connect: a limiter must not keep a process from starting, and
// the middleware lets requests through while Redis is away.
//
// Every Take sits on the path of a request, so the client gives up much
// sooner than go-redis does by default (which retries a refused dial for
// seconds): a Redis that is down should cost each request a fraction of a
// second, not a stall. Timeouts set in the URL's query (dial_timeout,
// read_timeout, max_retries, …) take precedence.
func NewRedis(url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errs.E("ratelimit.NewRedis", errs.Invalid, err)
	}
	const quick = 500 * time.Millisecond
	if opts.DialTimeout == 0 {
		opts.DialTimeout = quick
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = quick
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = quick
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = 2 * quick
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	return &Redis{rdb: redis.NewClient(opts), now: time.Now}, nil
}

// Close closes the connections to Redis.
func (r *Redis) Close() error { return r.rdb.Close() }

var _ Store = (*Redis)(nil)

// Take implements Store.
func (r *Redis) Take(ctx context.Context, key string, limit int, window time.Duration) (Decision, error) {
	const op = "ratelimit.Redis.Take"
	if err := checkArgs(op, key, limit, window); err != nil {
		return Decision{}, err
	}
	now := r.now()
	start, end := windowOf(now, window)
	ttl := end - now.UnixMilli() + window.Milliseconds()
	res, err := takeScript.Run(ctx, r.rdb, []string{keyPrefix + key},
		strconv.FormatInt(start, 10), strconv.FormatInt(ttl, 10)).Int64Slice()
	if err != nil {
		return Decision{}, errs.E(op, errs.Unavailable, err)
	}
	if len(res) != 2 {
		return Decision{}, errs.E(op, errs.Internal, errs.Msg("rate limit script returned %d values, want 2", len(res)))
	}
	return decide(now, limit, window, res[0], res[1]), nil
}
