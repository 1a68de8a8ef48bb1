package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// GuardConfig sets the limits of a Guard. Zero fields take the defaults.
type GuardConfig struct {
	// PerClient is how many attempts one client id (or login name) may
	// make per Window, from anywhere. Default 10.
	PerClient int
	// PerSource is how many attempts one source address may make per
	// Window, for any client ids. It is higher than PerClient because
	// several legitimate applications may sit behind one address. Default
	// 30.
	PerSource int
	// Window is the length of the counting window. Default one minute.
	Window time.Duration
}

// The defaults of GuardConfig.
const (
	DefaultGuardPerClient = 10
	DefaultGuardPerSource = 30
	DefaultGuardWindow    = time.Minute
)

// Guard slows down the guessing of credentials at the token and login
// endpoints. It counts every attempt twice, against the client id it names
// and against the address it comes from: the first limit stops a
// distributed attack on one account, the second one source trying many
// accounts. The endpoint calls Check before it verifies the secret, so a
// refused attempt costs no password hashing and reveals nothing about the
// secret.
type Guard struct {
	store Store
	cfg   GuardConfig
}

// NewGuard returns a guard counting in store with the limits of cfg.
func NewGuard(store Store, cfg GuardConfig) *Guard {
	if cfg.PerClient <= 0 {
		cfg.PerClient = DefaultGuardPerClient
	}
	if cfg.PerSource <= 0 {
		cfg.PerSource = DefaultGuardPerSource
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultGuardWindow
	}
	return &Guard{store: store, cfg: cfg}
}

// Window is the guard's counting window.
func (g *Guard) Window() time.Duration { return g.cfg.Window }

// Check counts one attempt by clientID from sourceAddr (as SourceAddr
// returns it) and reports whether it may proceed. Either may be empty when
// unknown, but not both. The Decision is the more restrictive of the two
// limits: the refusing one with the longer wait, or else the one with
// fewer attempts remaining, so its headers tell the caller the truth.
//
// Check returns the store's error as it is. Whether to fail open is the
// endpoint's choice; failing open is reasonable, because password hashing
// still bounds the speed of guessing.
func (g *Guard) Check(ctx context.Context, clientID, sourceAddr string) (Decision, error) {
	const op = "ratelimit.Guard.Check"
	if clientID == "" && sourceAddr == "" {
		return Decision{}, errs.E(op, errs.Invalid, errs.Msg("neither a client id nor a source address to limit"))
	}
	var ds []Decision
	if clientID != "" {
		d, err := g.store.Take(ctx, "guard:client:"+bounded(clientID), g.cfg.PerClient, g.cfg.Window)
		if err != nil {
			return Decision{}, errs.E(op, err)
		}
		ds = append(ds, d)
	}
	if sourceAddr != "" {
		d, err := g.store.Take(ctx, "guard:source:"+sourceKey(sourceAddr), g.cfg.PerSource, g.cfg.Window)
		if err != nil {
			return Decision{}, errs.E(op, err)
		}
		ds = append(ds, d)
	}
	return strictest(ds), nil
}

// strictest returns the decision that binds the caller most.
func strictest(ds []Decision) Decision {
	best := ds[0]
	for _, d := range ds[1:] {
		switch {
		case best.Allowed && !d.Allowed:
			best = d
		case !best.Allowed && !d.Allowed && d.RetryAfter > best.RetryAfter:
			best = d
		case best.Allowed && d.Allowed && d.Remaining < best.Remaining:
			best = d
		}
	}
	return best
}

// bounded returns s, or a digest of s when it is long: client ids come
// from unauthenticated requests, and an attacker must not be able to fill
// the store with megabyte keys.
func bounded(s string) string {
	if len(s) <= 128 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// sourceKey normalises a source address. An IPv6 client usually controls a
// whole /64, so the /64 is what is counted; otherwise one host could rotate
// through addresses and never meet the limit. IPv4-mapped addresses count
// as the IPv4 address they carry.
func sourceKey(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return bounded(addr)
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
