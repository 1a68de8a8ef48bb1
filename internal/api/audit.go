package api

import "net/http"

// Auditor records security-relevant events: authentications, identity and
// secret changes, key rotations, mode changes, deletes and finalizes. err
// is the operation's outcome (nil: success); r is nil for the system's own
// background work. Recording must never fail the request; an Auditor
// reports its own errors.
type Auditor interface {
	Event(r *http.Request, action, target string, err error)
}

// Audit records an event with a, which may be nil.
func Audit(a Auditor, r *http.Request, action, target string, err error) {
	if a != nil {
		a.Event(r, action, target, err)
	}
}
