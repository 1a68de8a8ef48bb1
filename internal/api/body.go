package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/artstore/artstore/internal/errs"
)

// BodyIdleTimeout cuts a request body off when its client sends nothing
// for d (at least d/2: the deadline moves on only once half of it has
// passed, not at every read of a few kilobytes), so that a client that stalls, or promises more than it sends,
// cannot hold a request open forever. It limits the wait for each read,
// not the whole body, which may take hours for a large upload on a slow
// link. A cut body reads as an errs.Timeout error, answered with 408.
// d <= 0 disables it.
func BodyIdleTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), d: d}
			}
			next.ServeHTTP(w, r)
		})
	}
}

type idleBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	d        time.Duration
	deadline time.Time // the read deadline last set
}

func (b *idleBody) Read(p []byte) (int, error) {
	// Where deadlines are not supported (a test's recorder), the body is
	// read without one. Once the body is read to its end, the server
	// clears the deadline itself before it watches the connection.
	if now := time.Now(); b.deadline.Sub(now) < b.d/2 {
		b.deadline = now.Add(b.d)
		_ = b.rc.SetReadDeadline(b.deadline)
	}
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errs.E("api.BodyIdleTimeout", errs.Timeout, errs.Msg("the request body stalled: nothing arrived for %v", b.d))
	}
	return n, err
}
