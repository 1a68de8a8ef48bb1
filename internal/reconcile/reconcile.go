// Package reconcile compares a catalog with the storage elements it
// follows and repairs the drift: files an element holds that the catalog
// lacks or holds in an older version are put, files the catalog places on
// an element that no longer has them are removed. The journals make drift
// rare; reconciliation is the check that proves it, periodically and on
// demand, and reports what it repaired.
package reconcile

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
)

// Catalog is what reconciliation reads and repairs.
type Catalog interface {
	Files(ctx context.Context, elementID string, fn func(fileID string, version int64) error) error
	PutChanged(ctx context.Context, f *artstore.File) (bool, error)
	Missing(ctx context.Context, elementID, fileID string, version int64) error
}

// ElementReport is what reconciling one element found and did. The lists
// name the first artstore.MaxListed files of each kind; the counts are complete.
type ElementReport struct {
	ElementID    string   `json:"element_id"`
	ElementFiles int      `json:"element_files"`
	CatalogFiles int      `json:"catalog_files"`
	Added        []string `json:"added"`   // files the catalog lacked
	Updated      []string `json:"updated"` // files the catalog held in an older version
	Removed      []string `json:"removed"` // files the element no longer holds
	AddedCount   int      `json:"added_count"`
	UpdatedCount int      `json:"updated_count"`
	RemovedCount int      `json:"removed_count"`
	Error        string   `json:"error,omitempty"`
}

// Report is what one reconciliation found and did.
type Report struct {
	StartedAt time.Time       `json:"started_at"`
	Duration  float64         `json:"duration_seconds"`
	Repaired  int             `json:"repaired"`
	Elements  []ElementReport `json:"elements"`
}

// Reconciler reconciles one catalog with a fleet.
type Reconciler struct {
	cat   Catalog
	fleet *fleet.Fleet
	log   *slog.Logger
	mu    sync.Mutex
}

// New returns a reconciler.
func New(cat Catalog, fl *fleet.Fleet, log *slog.Logger) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	return &Reconciler{cat: cat, fleet: fl, log: log}
}

// Run reconciles every element.
func (r *Reconciler) Run(ctx context.Context) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{StartedAt: time.Now().UTC(), Elements: []ElementReport{}}
	for _, id := range r.fleet.IDs() {
		er := r.element(ctx, id)
		rep.Repaired += er.repaired()
		rep.Elements = append(rep.Elements, er)
	}
	rep.Duration = time.Since(rep.StartedAt).Seconds()
	if rep.Repaired > 0 {
		r.log.Warn("reconciliation repaired drift", "repaired", rep.Repaired)
	}
	return rep
}

// repaired is how many files reconciling the element repaired.
func (er ElementReport) repaired() int { return er.AddedCount + er.UpdatedCount + er.RemovedCount }

// Element reconciles one element, as Run does every element.
func (r *Reconciler) Element(ctx context.Context, id string) ElementReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	er := r.element(ctx, id)
	if n := er.repaired(); n > 0 {
		r.log.Warn("reconciliation repaired drift", "element", id, "repaired", n)
	}
	return er
}

// listPage is how many files reconciliation asks an element for at once;
// tests lower it.
var listPage = 1000

// element reconciles one element. It walks the catalog's files on the
// element and the element's own list side by side, both in file id order,
// so that it holds a page of each at a time however many files there are.
func (r *Reconciler) element(ctx context.Context, id string) ElementReport {
	er := ElementReport{ElementID: id, Added: []string{}, Updated: []string{}, Removed: []string{}}
	el, err := r.fleet.Get(id)
	if err != nil {
		er.Error = err.Error()
		return er
	}
	l := &lister{el: el}
	// added repairs every file the element lists before fileID ("" for
	// all that are left): the catalog lacks them.
	added := func(fileID string) error {
		for {
			f, err := l.peek(ctx)
			if err != nil || f == nil || fileID != "" && f.FileID >= fileID {
				return err
			}
			if r.put(ctx, f, &er) {
				artstore.Note(&er.Added, &er.AddedCount, f.FileID)
			}
			l.pop()
		}
	}
	err = r.cat.Files(ctx, id, func(fileID string, v int64) error {
		er.CatalogFiles++
		if err := added(fileID); err != nil {
			return err
		}
		f, err := l.peek(ctx)
		if err != nil {
			return err
		}
		if f != nil && f.FileID == fileID {
			if v < f.Version && r.put(ctx, f, &er) {
				artstore.Note(&er.Updated, &er.UpdatedCount, fileID)
			}
			l.pop()
			return nil
		}
		// The element did not list the file. Files that come and go
		// while it is listed may be missed; one is only missing once the
		// element confirms it.
		if _, err := el.Stat(ctx, fileID); !errs.Is(errs.NotExist, err) {
			return nil // still there (or unknown): leave it
		}
		if err := r.cat.Missing(ctx, id, fileID, v); err != nil {
			er.Error = err.Error()
			return nil
		}
		artstore.Note(&er.Removed, &er.RemovedCount, fileID)
		return nil
	})
	if err == nil {
		err = added("")
	}
	if err != nil {
		er.Error = err.Error()
	}
	er.ElementFiles = l.listed
	return er
}

// lister reads an element's files in file id order, a page at a time.
type lister struct {
	el     artstore.Element
	page   []artstore.File
	after  string // the cursor of the next page; "" before the first
	last   string // the id of the last file read
	done   bool
	listed int
}

// peek returns the next file, nil after the last.
func (l *lister) peek(ctx context.Context) (*artstore.File, error) {
	for len(l.page) == 0 && !l.done {
		page, err := l.el.List(ctx, artstore.Page{Limit: listPage, After: l.after, ByID: true})
		if err != nil {
			return nil, err
		}
		for _, f := range page.Items {
			if f.FileID <= l.last {
				// An element that ignores the order or the cursor would
				// have files it holds taken for missing.
				return nil, errs.E(errs.Internal, errs.Msg("the element's file list is not in file id order: %s follows %s", f.FileID, l.last))
			}
			l.last = f.FileID
		}
		l.page, l.listed = page.Items, l.listed+len(page.Items)
		switch {
		case !page.HasMore:
			l.done = true
		case page.Next == "" || page.Next == l.after:
			return nil, errs.E(errs.Internal, errs.Msg("the element's file list does not move on to a next page"))
		}
		l.after = page.Next
	}
	if len(l.page) == 0 {
		return nil, nil
	}
	return &l.page[0], nil
}

// pop moves past the file peek returned.
func (l *lister) pop() { l.page = l.page[1:] }

// put applies the element's state of f and tells whether that repaired
// anything: the version rules ignore a copy the catalog knows a newer
// state of, on this element or another (a finalized file's temporary copy).
func (r *Reconciler) put(ctx context.Context, f *artstore.File, er *ElementReport) bool {
	changed, err := r.cat.PutChanged(ctx, f)
	if err != nil {
		er.Error = err.Error()
	}
	return changed
}

// Routes registers POST /api/v1/reconcile (role admin), which reconciles
// now and answers with the report.
func (r *Reconciler) Routes(rt chi.Router, authn api.Authenticator) {
	rt.With(api.Allow(authn, api.AdminRoles...)).Post("/api/v1/reconcile", func(w http.ResponseWriter, req *http.Request) {
		api.WriteJSON(w, http.StatusOK, r.Run(req.Context()))
	})
}
