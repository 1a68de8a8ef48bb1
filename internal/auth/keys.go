package auth

import (
	"context"
	"crypto"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"

	"github.com/artstore/artstore/internal/errs"
)

// KeySource finds the public key that verifies tokens signed under kid.
// It returns an error when it does not know kid.
type KeySource interface {
	Key(ctx context.Context, kid string) (crypto.PublicKey, error)
}

// LocalKeys is a keystore in the same process, such as the admin
// service's. It needs no context because it answers from memory.
type LocalKeys interface {
	PublicKey(kid string) (crypto.PublicKey, error)
}

// Local adapts an in-process keystore to a KeySource.
func Local(k LocalKeys) KeySource { return localSource{k} }

type localSource struct{ k LocalKeys }

func (s localSource) Key(_ context.Context, kid string) (crypto.PublicKey, error) {
	return s.k.PublicKey(kid)
}

// The tuning of RemoteKeys.
const (
	// remoteRefresh is how often the whole set is fetched again, which is
	// how retired keys eventually disappear.
	remoteRefresh = 5 * time.Minute
	// remoteUnknownKID limits refetches caused by tokens with an unknown
	// kid. Without a limit anyone could make us hammer the admin service
	// by sending tokens with made-up kids.
	remoteUnknownKID = 30 * time.Second
	// remoteWaitMax is how long a request may wait for that limiter
	// before its unknown kid is rejected. It is short so that a flood of
	// forged kids does not pile up waiting requests.
	remoteWaitMax = 5 * time.Second
	// remoteTimeout bounds one fetch of the set.
	remoteTimeout = 10 * time.Second
)

// RemoteKeys is a KeySource backed by a JWKS document fetched over HTTP,
// such as the admin service's /.well-known/jwks.json.
type RemoteKeys struct {
	kf keyfunc.Keyfunc
}

// RemoteJWKS returns a KeySource that fetches the JWK set at url now,
// again every five minutes, and whenever it meets a kid it does not know
// (at most every 30 seconds), so a key the issuer has just rotated in is
// picked up on its first use. The background refresh stops when ctx ends.
//
// A failure of the first fetch is not an error: services may start before
// the admin service, and the set is fetched again on demand.
func RemoteJWKS(ctx context.Context, url string) (*RemoteKeys, error) {
	const op = "auth.RemoteJWKS"
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{url}, keyfunc.Override{
		Client:            &http.Client{Timeout: remoteTimeout},
		HTTPTimeout:       remoteTimeout,
		RefreshInterval:   remoteRefresh,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(remoteUnknownKID), 1),
		RateLimitWaitMax:  remoteWaitMax,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				slog.WarnContext(ctx, "cannot refresh JWKS", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	return &RemoteKeys{kf: kf}, nil
}

// Key returns the public key with the given kid, refetching the set when
// kid is unknown.
func (r *RemoteKeys) Key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	const op = "auth.RemoteKeys.Key"
	jwk, err := r.kf.Storage().KeyRead(ctx, kid)
	if err != nil {
		return nil, errs.E(op, errs.NotExist, errs.Msg("unknown signing key"))
	}
	// A key published for encryption, or for another algorithm, must not
	// verify our tokens even if its kid matches.
	m := jwk.Marshal()
	if (m.USE != "" && m.USE != jwkset.UseSig) || (m.ALG != "" && m.ALG != jwkset.AlgRS256) {
		return nil, errs.E(op, errs.NotExist, errs.Msg("signing key not usable for %s", Algorithm))
	}
	key := jwk.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	return key, nil
}
