package seregistry

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sehttp"
)

// maxInfoBytes bounds the answer read from a URL that claims to be an
// element: a real element's info is a few hundred bytes, and an arbitrary
// web server may send anything.
const maxInfoBytes = 64 << 10

// Registration is what an operator says when registering an element. The
// element supplies its own id; Name defaults to it, and Priority to the
// priority the element reports.
type Registration struct {
	URL         string `json:"url"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Priority    *int   `json:"priority,omitempty"`
}

// Discover asks the element at url for its info without registering it,
// so that an operator can see what a URL serves before adding it. A URL
// that is not http(s) or does not serve an element is an Invalid error; an
// element that cannot be reached, or refuses the registry's credentials,
// is Unavailable.
func (r *Registry) Discover(ctx context.Context, url string) (artstore.ElementInfo, error) {
	const op = "seregistry.Discover"
	u, err := normalizeURL(url)
	if err != nil {
		return artstore.ElementInfo{}, errs.E(op, err)
	}
	info, err := r.fetchInfo(ctx, u)
	if err != nil {
		return artstore.ElementInfo{}, errs.E(op, err)
	}
	return info, nil
}

// fetchInfo reads GET {u}/api/v1/info itself rather than through
// Client.Info, so that it can tell an address where nothing answers from
// one where something other than an element does.
func (r *Registry) fetchInfo(ctx context.Context, u string) (artstore.ElementInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	c := sehttp.NewClient(u, r.tokens, r.cfg.HTTPClient)
	resp, err := c.Do(ctx, "seregistry.fetchInfo", "GET", "/api/v1/info", nil, nil)
	if err != nil {
		// The messages are rebuilt rather than wrapped: the element's own
		// error code (NOT_FOUND for a missing route, say) would otherwise
		// become the code of the registry's answer and mislead.
		switch errs.KindOf(err) {
		case errs.Unavailable:
			return artstore.ElementInfo{}, errs.E(errs.Unavailable, errs.Code("ELEMENT_UNREACHABLE"),
				errs.Msg("cannot reach a storage element at %s: %v", u, err))
		case errs.Unauthenticated, errs.Permission:
			return artstore.ElementInfo{}, errs.E(errs.Unavailable, errs.Code("ELEMENT_REFUSED"),
				errs.Msg("the element at %s refused the registry's credentials: %v", u, err))
		case errs.Internal, errs.Other:
			return artstore.ElementInfo{}, errs.E(errs.Unavailable, errs.Code("ELEMENT_FAILED"),
				errs.Msg("the element at %s failed: %v", u, err))
		}
		return artstore.ElementInfo{}, notElement(u, err)
	}
	defer resp.Body.Close()
	var info artstore.ElementInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInfoBytes)).Decode(&info); err != nil {
		return artstore.ElementInfo{}, notElement(u, errs.Msg("its info is not JSON: %v", err))
	}
	if err := checkInfo(info); err != nil {
		return artstore.ElementInfo{}, notElement(u, err)
	}
	return info, nil
}

func notElement(u string, why error) error {
	return errs.E(errs.Invalid, errs.Code("NOT_AN_ELEMENT"), errs.Msg("%s does not serve a storage element: %v", u, why))
}

// Register adds the element at reg.URL, which must answer with its info.
// It is an Exist error when the URL or the element's id is registered.
func (r *Registry) Register(ctx context.Context, reg Registration) (Entry, error) {
	const op = "seregistry.Register"
	u, err := normalizeURL(reg.URL)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	name, err := checkName(reg.Name)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	if err := checkDescription(reg.Description); err != nil {
		return Entry{}, errs.E(op, err)
	}
	if reg.Priority != nil {
		if err := checkPriority(*reg.Priority); err != nil {
			return Entry{}, errs.E(op, err)
		}
	}
	// The URL is checked before the element is asked, so that a repeated
	// registration fails the same way whether or not the element is up.
	if id, err := r.byURL(ctx, u); err != nil {
		return Entry{}, errs.E(op, err)
	} else if id != "" {
		return Entry{}, errs.E(op, errs.Exist, errs.Msg("%s is already registered as storage element %q", u, id))
	}
	info, err := r.fetchInfo(ctx, u)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	if e, err := r.get(ctx, info.ElementID); err == nil {
		return Entry{}, errs.E(op, errs.Exist, errs.Msg("storage element %q is already registered at %s", e.ElementID, e.URL))
	} else if !errs.Is(errs.NotExist, err) {
		return Entry{}, errs.E(op, err)
	}
	e := newEntry(info, u, time.Now())
	e.Description = reg.Description
	if name != "" {
		e.Name = name
	}
	if reg.Priority != nil {
		e.Priority, e.pinned = *reg.Priority, true
	}
	if err := r.insert(ctx, e); err != nil {
		return Entry{}, errs.E(op, err)
	}
	r.setMember(e.ElementID, e.URL)
	r.log.Info("storage element registered", "element", e.ElementID, "url", e.URL)
	return e, nil
}

// RegisterLocal registers an element this process runs, reachable by
// others at url (for the all-in-one server, its /elements/{id} mount).
// Element then returns el itself, so that callers in this process skip
// HTTP. It is idempotent, for use at every start: an element already
// registered keeps its name, description and any operator-set priority,
// and takes the new URL and el's current info.
func (r *Registry) RegisterLocal(ctx context.Context, el artstore.Element, url string) (Entry, error) {
	const op = "seregistry.RegisterLocal"
	u, err := normalizeURL(url)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	info, err := el.Info(ctx)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	if err := checkInfo(info); err != nil {
		return Entry{}, errs.E(op, errs.Invalid, err)
	}
	// Two processes starting at once may both find the element missing;
	// the one whose insert loses takes the update path on its second try.
	for range 2 {
		now := time.Now()
		e, err := r.get(ctx, info.ElementID)
		switch {
		case errs.Is(errs.NotExist, err):
			e = newEntry(info, u, now)
			err = r.insert(ctx, e)
			if errs.Is(errs.Exist, err) {
				continue
			}
		case err == nil && e.URL != u:
			e.URL = u
			err = r.saveRegistration(ctx, e, now)
		}
		if err == nil {
			err = r.saveInfo(ctx, info, now)
		}
		if err != nil {
			return Entry{}, errs.E(op, err)
		}
		r.mu.Lock()
		r.locals[info.ElementID] = el
		r.mu.Unlock()
		r.setMember(info.ElementID, u)
		return r.get(ctx, info.ElementID)
	}
	return Entry{}, errs.E(op, errs.Exist, errs.Msg("URL %s is already registered to another element", u))
}

// newEntry returns the entry of a newly registered element: online, named
// after itself, at the priority it reports.
func newEntry(info artstore.ElementInfo, url string, now time.Time) Entry {
	now = now.UTC().Truncate(time.Microsecond)
	return Entry{
		ElementID:  info.ElementID,
		Name:       info.ElementID,
		URL:        url,
		Priority:   clampPriority(info.Priority),
		Mode:       info.Mode,
		Status:     StatusOnline,
		Capacity:   info.Capacity,
		FileCount:  info.FileCount,
		Backend:    info.Backend,
		Version:    info.Version,
		LastSeenAt: &now,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
}
