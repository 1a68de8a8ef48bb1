package seregistry

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// The limits of a registration's fields.
const (
	MaxURLBytes       = 2048
	MaxNameLen        = 100  // characters
	MaxDescriptionLen = 1000 // characters
	MinPriority       = 0
	MaxPriority       = 1_000_000
	maxIDBytes        = 255
	maxFilterLen      = 200 // characters of a list filter value
)

// normalizeURL checks an element's base URL and returns it in the one form
// the registry stores, so that two spellings of one address cannot be
// registered twice: scheme and host lower-cased, no trailing slash.
// Credentials are refused because the URL is shown to every reader of the
// registry; a query or fragment because the element's API paths are
// appended to the URL.
func normalizeURL(raw string) (string, error) {
	if raw == "" {
		return "", errs.E(errs.Invalid, errs.Msg("url is required"))
	}
	if len(raw) > MaxURLBytes {
		return "", errs.E(errs.Invalid, errs.Msg("url has %d bytes; at most %d are allowed", len(raw), MaxURLBytes))
	}
	if err := checkText("url", raw, false); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errs.E(errs.Invalid, errs.Msg("url %q is not a URL", raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errs.E(errs.Invalid, errs.Msg("url must be http or https, not %q", u.Scheme))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", errs.E(errs.Invalid, errs.Msg("url %q has no host", raw))
	}
	if u.User != nil {
		return "", errs.E(errs.Invalid, errs.Msg("url must not contain credentials"))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errs.E(errs.Invalid, errs.Msg("url must not have a query or fragment"))
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// checkName returns a name with surrounding space removed, or "" when it is
// empty, which callers replace with the element id.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, false); err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return "", errs.E(errs.Invalid, errs.Msg("name has %d characters; at most %d are allowed", n, MaxNameLen))
	}
	return name, nil
}

func checkDescription(d string) error {
	if err := checkText("description", d, true); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(d); n > MaxDescriptionLen {
		return errs.E(errs.Invalid, errs.Msg("description has %d characters; at most %d are allowed", n, MaxDescriptionLen))
	}
	return nil
}

func checkPriority(p int) error {
	if p < MinPriority || p > MaxPriority {
		return errs.E(errs.Invalid, errs.Msg("priority must be from %d to %d", MinPriority, MaxPriority))
	}
	return nil
}

// clampPriority fits an element's own priority into the registry's range,
// so that an element's odd configuration cannot make its entry invalid.
func clampPriority(p int) int { return min(max(p, MinPriority), MaxPriority) }

// checkText rejects what the databases cannot store or a reader could be
// misled by: invalid UTF-8 and control characters (PostgreSQL refuses NUL
// in text). Multi-line text may keep its line breaks and tabs.
func checkText(field, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return errs.E(errs.Invalid, errs.Msg("%s is not valid UTF-8", field))
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return errs.E(errs.Invalid, errs.Msg("%s contains a control character", field))
		}
	}
	return nil
}

// checkID rejects an element id that no element could have, before it
// reaches a query.
func checkID(id string) error {
	if id == "" || len(id) > maxIDBytes {
		return errs.E(errs.Invalid, errs.Msg("element id must have 1 to %d bytes", maxIDBytes))
	}
	if err := checkText("element id", id, false); err != nil {
		return err
	}
	if strings.ContainsAny(id, "/\\ ") {
		return errs.E(errs.Invalid, errs.Msg("element id %q contains a slash or a space", id))
	}
	return nil
}

// checkInfo checks that an answer describes a storage element: anything
// else answering 200 at /api/v1/info is not one.
func checkInfo(info artstore.ElementInfo) error {
	if err := checkID(info.ElementID); err != nil {
		return err
	}
	if !info.Mode.Valid() {
		return errs.E(errs.Invalid, errs.Msg("unknown mode %q", info.Mode))
	}
	if len(info.Backend) > maxIDBytes || len(info.Version) > maxIDBytes {
		return errs.E(errs.Invalid, errs.Msg("backend or version is too long"))
	}
	if err := checkText("backend", info.Backend, false); err != nil {
		return err
	}
	return checkText("version", info.Version, false)
}

// checkFilter validates a list filter and fills in the default limit.
func checkFilter(f *Filter) error {
	if f.Limit == 0 {
		f.Limit = api.DefaultLimit
	}
	if f.Limit < 1 || f.Limit > api.MaxLimit {
		return errs.E(errs.Invalid, errs.Msg("limit must be from 1 to %d", api.MaxLimit))
	}
	if f.Offset < 0 {
		return errs.E(errs.Invalid, errs.Msg("offset must not be negative"))
	}
	if f.Mode != "" && !artstore.Mode(f.Mode).Valid() {
		return errs.E(errs.Invalid, errs.Msg("mode %q is not one of edit, rw, ro, ar", f.Mode))
	}
	if f.Status != "" && Status(f.Status) != StatusOnline && Status(f.Status) != StatusOffline {
		return errs.E(errs.Invalid, errs.Msg("status %q is not online or offline", f.Status))
	}
	for _, v := range []struct{ name, val string }{{"backend", f.Backend}, {"q", f.Query}} {
		if err := checkText(v.name, v.val, false); err != nil {
			return err
		}
		if utf8.RuneCountInString(v.val) > maxFilterLen {
			return errs.E(errs.Invalid, errs.Msg("%s has more than %d characters", v.name, maxFilterLen))
		}
	}
	return nil
}
