package seregistry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
)

// Filter selects entries. Empty strings select everything.
type Filter struct {
	Mode    string // one of the element modes
	Status  string // "online" or "offline"
	Backend string // the element's backend kind, exactly
	Query   string // text found, case-insensitively, in the id, name or description
	Limit   int    // 1 to api.MaxLimit; 0 means api.DefaultLimit
	Offset  int
}

// Page is one page of entries in fill order.
type Page struct {
	Items   []Entry `json:"items"`
	Total   int64   `json:"total"` // entries matching the filter, on all pages
	Limit   int     `json:"limit"`
	Offset  int     `json:"offset"`
	HasMore bool    `json:"has_more"`
}

// Update changes a registration; nil fields are left alone.
type Update struct {
	Name        *string `json:"name,omitempty"` // "" resets the name to the element id
	Description *string `json:"description,omitempty"`
	// URL moves the registration; the element at the new URL must answer
	// with the same id.
	URL *string `json:"url,omitempty"`
	// Priority pins the registry's priority; polling no longer copies the
	// element's own over it.
	Priority *int `json:"priority,omitempty"`
}

// Get returns the entry of element id.
func (r *Registry) Get(ctx context.Context, id string) (Entry, error) {
	const op = "seregistry.Get"
	if err := checkID(id); err != nil {
		return Entry{}, errs.E(op, err)
	}
	e, err := r.get(ctx, id)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	return e, nil
}

// List returns the entries f selects, in fill order.
func (r *Registry) List(ctx context.Context, f Filter) (Page, error) {
	const op = "seregistry.List"
	if err := checkFilter(&f); err != nil {
		return Page{}, errs.E(op, err)
	}
	var (
		conds []string
		args  []any
	)
	for _, c := range []struct{ col, val string }{{"mode", f.Mode}, {"status", f.Status}, {"backend", f.Backend}} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.Query != "" {
		conds = append(conds, `(LOWER(element_id) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`)
		p := likePattern(f.Query)
		args = append(args, p, p, p)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	p := Page{Limit: f.Limit, Offset: f.Offset}
	if err := r.db.QueryRowContext(ctx, r.db.Rebind(`SELECT COUNT(*) FROM se_registry`+where), args...).Scan(&p.Total); err != nil {
		return Page{}, sqldb.Err(op, err)
	}
	items, err := r.query(ctx, `SELECT `+entryColumns+` FROM se_registry`+where+byFillOrder+` LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return Page{}, errs.E(op, err)
	}
	p.Items = items
	p.HasMore = int64(f.Offset)+int64(len(items)) < p.Total
	return p, nil
}

// Update changes the registration of element id. A new URL must serve the
// same element (else Conflict) and must not be registered to another one
// (else Exist); the element's info read there is recorded too.
func (r *Registry) Update(ctx context.Context, id string, up Update) (Entry, error) {
	const op = "seregistry.Update"
	if err := checkID(id); err != nil {
		return Entry{}, errs.E(op, err)
	}
	e, err := r.get(ctx, id)
	if err != nil {
		return Entry{}, errs.E(op, err)
	}
	if up.Name != nil {
		name, err := checkName(*up.Name)
		if err != nil {
			return Entry{}, errs.E(op, err)
		}
		if name == "" {
			name = e.ElementID
		}
		e.Name = name
	}
	if up.Description != nil {
		if err := checkDescription(*up.Description); err != nil {
			return Entry{}, errs.E(op, err)
		}
		e.Description = *up.Description
	}
	if up.Priority != nil {
		if err := checkPriority(*up.Priority); err != nil {
			return Entry{}, errs.E(op, err)
		}
		e.Priority, e.pinned = *up.Priority, true
	}
	var moved *artstore.ElementInfo
	if up.URL != nil {
		u, err := normalizeURL(*up.URL)
		if err != nil {
			return Entry{}, errs.E(op, err)
		}
		if u != e.URL {
			if other, err := r.byURL(ctx, u); err != nil {
				return Entry{}, errs.E(op, err)
			} else if other != "" {
				return Entry{}, errs.E(op, errs.Exist, errs.Msg("%s is already registered as storage element %q", u, other))
			}
			info, err := r.fetchInfo(ctx, u)
			if err != nil {
				return Entry{}, errs.E(op, err)
			}
			if info.ElementID != e.ElementID {
				return Entry{}, errs.E(op, errs.Conflict, errs.Code("ELEMENT_MISMATCH"),
					errs.Msg("%s serves storage element %q, not %q", u, info.ElementID, e.ElementID))
			}
			e.URL, moved = u, &info
		}
	}
	now := time.Now()
	if err := r.saveRegistration(ctx, e, now); err != nil {
		return Entry{}, errs.E(op, err)
	}
	if moved != nil {
		if err := r.saveInfo(ctx, *moved, now); err != nil {
			return Entry{}, errs.E(op, err)
		}
		r.setMember(e.ElementID, e.URL)
	}
	return r.Get(ctx, id)
}

// Delete removes the registration of element id. It asks the element for
// its file count first and refuses, with a Conflict of code
// ELEMENT_NOT_EMPTY, unless the count is zero: forgetting an element that
// still holds files would hide them from every service. When the element
// cannot be reached, the count of the last good answer decides.
func (r *Registry) Delete(ctx context.Context, id string) error {
	const op = "seregistry.Delete"
	if err := checkID(id); err != nil {
		return errs.E(op, err)
	}
	e, err := r.Sync(ctx, id)
	if err != nil {
		return errs.E(op, err)
	}
	notEmpty := func(what string) error {
		return errs.E(op, errs.Conflict, errs.Code("ELEMENT_NOT_EMPTY"),
			errs.Msg("storage element %q holds %s; it can be removed from the registry only when empty", id, what))
	}
	if e.FileCount != 0 {
		return notEmpty(fmt.Sprintf("%d files", e.FileCount))
	}
	gone, err := r.deleteEmpty(ctx, id)
	if err != nil {
		return errs.E(op, err)
	}
	if !gone {
		// Deleted meanwhile, or a later sync found files.
		if _, err := r.get(ctx, id); err != nil {
			return errs.E(op, err)
		}
		return notEmpty("files")
	}
	r.forget(id)
	r.log.Info("storage element removed from the registry", "element", id, "url", e.URL)
	return nil
}
