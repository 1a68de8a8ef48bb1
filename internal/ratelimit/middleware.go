package ratelimit

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
)

// CodeRateLimited is the error code of a request refused for its rate.
const CodeRateLimited = "RATE_LIMITED"

// Middleware limits the requests for which limitFor returns ok: each is
// counted against its key, which may make limit requests per window. Every
// governed response carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (Unix seconds); a request over the limit is answered
// 429 with Retry-After and the error code RATE_LIMITED, and never reaches
// next.
//
// When the store fails, the request goes through and a warning is logged:
// a limiter that is down must not take the archive down with it, and the
// limits protect against abuse, which a short outage of the limiter does
// not invite.
func Middleware(store Store, limitFor func(r *http.Request) (key string, limit int, ok bool), window time.Duration, log *slog.Logger) func(http.Handler) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, limit, ok := limitFor(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			d, err := store.Take(r.Context(), key, limit, window)
			if err != nil {
				log.WarnContext(r.Context(), "rate limiter unavailable; letting the request through",
					"method", r.Method, "path", r.URL.Path, "err", err)
				next.ServeHTTP(w, r)
				return
			}
			if !d.Allowed {
				WriteLimited(w, d, window)
				return
			}
			SetHeaders(w.Header(), d)
			next.ServeHTTP(w, r)
		})
	}
}

// SetHeaders sets the X-RateLimit headers of d, and Retry-After when d
// refuses the request. Handlers that limit without the middleware, such as
// the token endpoint with a Guard, use it to answer the same way.
func SetHeaders(h http.Header, d Decision) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(resetSeconds(d.Reset), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(d.RetryAfter), 10))
	}
}

// WriteLimited answers 429 Too Many Requests for a refused decision, in the
// JSON error envelope with the code RATE_LIMITED. The status has no error
// kind of its own in package errs, because services never refuse for rate:
// only this HTTP layer does.
func WriteLimited(w http.ResponseWriter, d Decision, window time.Duration) {
	SetHeaders(w.Header(), d)
	msg := fmt.Sprintf("rate limit of %d requests per %v exceeded; retry in %d s",
		d.Limit, window, retryAfterSeconds(d.RetryAfter))
	api.WriteJSON(w, http.StatusTooManyRequests, api.ErrorBody{Error: api.ErrorDetail{Code: CodeRateLimited, Message: msg}})
}

// PerCaller returns a limitFor function for routes behind api.Allow that
// gives every authenticated caller limit requests per window: a service
// account by its client id, any other principal by its subject. Requests
// without a principal are not limited here; the authentication middleware
// refuses them anyway.
func PerCaller(limit int) func(r *http.Request) (string, int, bool) {
	return func(r *http.Request) (string, int, bool) {
		p, ok := artstore.PrincipalFrom(r.Context())
		switch {
		case !ok:
			return "", 0, false
		case p.ClientID != "":
			return "client:" + p.ClientID, limit, true
		case p.Subject != "":
			return "subject:" + p.Subject, limit, true
		}
		return "", 0, false
	}
}

// SourceAddr is the address a request came from, without its port. It
// reads only the connection's address: forwarding headers are the client's
// to forge, so a deployment behind a proxy must put the real client address
// into RemoteAddr with a middleware that trusts that proxy alone.
func SourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
