package audit

import (
	"crypto/rand"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// DefaultRoles may read the log when Routes is given no roles.
var DefaultRoles = []artstore.Role{artstore.RoleAdmin, artstore.RoleAuditor}

// Routes registers the log's read endpoints on r, for callers
// authenticated by authn with one of roles. With no roles it uses
// DefaultRoles rather than admitting every authenticated caller, as an
// empty list means to api.Allow: the audit trail names who did what, and
// must not become readable by every application through an omission.
func (l *Log) Routes(r chi.Router, authn api.Authenticator, roles ...artstore.Role) {
	if len(roles) == 0 {
		roles = DefaultRoles
	}
	r.With(api.Allow(authn, roles...)).Get("/api/v1/audit", l.handleList)
	r.With(api.Allow(authn, roles...)).Get("/api/v1/audit/verify", l.handleVerify)
}

func (l *Log) handleList(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := l.List(r.Context(), f)
	api.Reply(w, r, http.StatusOK, p, err)
}

// handleVerify answers 200 with the report whether or not the log is
// intact: the check itself succeeded, and the report says what it found.
func (l *Log) handleVerify(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > 0 {
		api.WriteError(w, r, errs.E("audit.verify", errs.Invalid, errs.Msg("verify takes no query parameters")))
		return
	}
	rep, err := l.Verify(r.Context())
	api.Reply(w, r, http.StatusOK, rep, err)
}

// parseFilter reads a Filter from the query string of GET /api/v1/audit.
func parseFilter(r *http.Request) (Filter, error) {
	const op = "audit.parseFilter"
	q, limit, offset, err := api.ListQuery(r, "actor", "action", "target", "outcome", "since", "until")
	if err != nil {
		return Filter{}, errs.E(op, err)
	}
	f := Filter{
		Actor:   q.Get("actor"),
		Action:  q.Get("action"),
		Target:  q.Get("target"),
		Outcome: q.Get("outcome"),
		Limit:   limit,
		Offset:  offset,
	}
	if f.Since, err = parseTime(q, "since"); err != nil {
		return Filter{}, errs.E(op, err)
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return Filter{}, errs.E(op, err)
	}
	return f, nil
}

func parseTime(q url.Values, name string) (*time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, errs.E(errs.Invalid, errs.Msg("%s must be an RFC 3339 time such as 2006-01-02T15:04:05Z", name))
	}
	return &t, nil
}

// maxRequestID is the longest request id taken from a client.
const maxRequestID = 128

// FromRequest returns what a record says about where a request came from:
// the client's address without its port, and the request's id. The id is
// the X-Request-ID header when it is present and sane, so that a record
// can be matched with the client's and proxies' logs; otherwise it is a
// new random id. The address is r.RemoteAddr; forwarding headers are not
// trusted here, because any client can send them. Behind a proxy, a
// middleware that knows the proxy should set RemoteAddr first.
func FromRequest(r *http.Request) (sourceAddr, requestID string) {
	sourceAddr = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceAddr = host
	}
	requestID = r.Header.Get("X-Request-ID")
	if !saneRequestID(requestID) {
		requestID = rand.Text()
	}
	return sourceAddr, requestID
}

// saneRequestID admits short ids made of the characters of UUIDs, hex,
// base32 and base64, which keeps client-chosen text out of the log beyond
// an opaque token.
func saneRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}
