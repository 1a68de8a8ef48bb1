package ratelimit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

func newTestGuard(cfg GuardConfig) (*Guard, *clock) {
	clk := newClock()
	m := NewMemory()
	m.now = clk.Now
	return NewGuard(m, cfg), clk
}

func TestGuard(t *testing.T) {
	ctx := context.Background()
	g, clk := newTestGuard(GuardConfig{PerClient: 3, PerSource: 5, Window: time.Minute})
	steps := []struct {
		client, source string
		allowed        bool
		limit          int // the binding limit
		remaining      int
	}{
		// Client a guesses from one address until its own limit binds.
		{"a", "192.0.2.1", true, 3, 2},
		{"a", "192.0.2.1", true, 3, 1},
		{"a", "192.0.2.1", true, 3, 0},
		{"a", "192.0.2.1", false, 3, 0},
		// The address has made four attempts; trying another client id
		// from it meets the per-source limit after one more.
		{"b", "192.0.2.1", true, 5, 0},
		{"b", "192.0.2.1", false, 5, 0},
		// Client a is refused from a fresh address too: its limit is
		// counted across addresses.
		{"a", "192.0.2.2", false, 3, 0},
		// Other clients from other addresses are untouched.
		{"c", "192.0.2.3", true, 3, 2},
	}
	for i, s := range steps {
		d, err := g.Check(ctx, s.client, s.source)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if d.Allowed != s.allowed || d.Limit != s.limit || d.Remaining != s.remaining {
			t.Fatalf("step %d (%s from %s) = %+v, want allowed=%v limit=%d remaining=%d",
				i+1, s.client, s.source, d, s.allowed, s.limit, s.remaining)
		}
		if !d.Allowed && d.RetryAfter <= 0 {
			t.Fatalf("step %d: refused without RetryAfter: %+v", i+1, d)
		}
	}

	clk.Advance(g.Window())
	if d, err := g.Check(ctx, "a", "192.0.2.1"); err != nil || !d.Allowed {
		t.Fatalf("after the window = %+v, %v; want allowed", d, err)
	}
}

func TestGuardPartialIdentity(t *testing.T) {
	ctx := context.Background()
	g, _ := newTestGuard(GuardConfig{})
	if g.Window() != DefaultGuardWindow {
		t.Fatalf("default window %v", g.Window())
	}
	if d, err := g.Check(ctx, "a", ""); err != nil || d.Limit != DefaultGuardPerClient {
		t.Fatalf("client only = %+v, %v; want the per-client limit", d, err)
	}
	if d, err := g.Check(ctx, "", "192.0.2.9"); err != nil || d.Limit != DefaultGuardPerSource {
		t.Fatalf("source only = %+v, %v; want the per-source limit", d, err)
	}
	if _, err := g.Check(ctx, "", ""); !errs.Is(errs.Invalid, err) {
		t.Fatalf("neither = %v, want Invalid", err)
	}
}

func TestGuardStoreError(t *testing.T) {
	// Whether to fail open is the endpoint's decision, not the guard's,
	// so a store error reaches the caller with its kind.
	g := NewGuard(NewMemory(), GuardConfig{Window: time.Microsecond})
	if _, err := g.Check(context.Background(), "a", "192.0.2.1"); !errs.Is(errs.Invalid, err) {
		t.Fatalf("err = %v, want the store's Invalid", err)
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:4711", "192.0.2.1"},
		// An IPv4-mapped address is the IPv4 address it carries.
		{"::ffff:192.0.2.1", "192.0.2.1"},
		// An IPv6 source is counted by its /64.
		{"2001:db8::1", "2001:db8::/64"},
		{"[2001:db8::ffff:1]:4711", "2001:db8::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"2001:db8:0:1::1", "2001:db8:0:1::/64"},
		{"not-an-address", "not-an-address"},
	} {
		if got := sourceKey(tc.addr); got != tc.want {
			t.Errorf("sourceKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	long := strings.Repeat("x", 10000)
	if k := bounded(long); len(k) > 128 || !strings.HasPrefix(k, "sha256:") {
		t.Fatalf("bounded(long) = %q", k)
	}
	if bounded(long) == bounded(long+"y") {
		t.Fatalf("distinct long ids share a key")
	}
	if k := bounded("client-1"); k != "client-1" {
		t.Fatalf("bounded(short) = %q", k)
	}
	if k := sourceKey(strings.Repeat("h", 500)); len(k) > 128 {
		t.Fatalf("sourceKey(long) has %d bytes", len(k))
	}
}
