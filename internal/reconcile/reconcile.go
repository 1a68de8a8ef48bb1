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
	Remove(ctx context.Context, elementID, fileID string, version int64) error
}

// ElementReport is what reconciling one element found and did.
type ElementReport struct {
	ElementID    string   `json:"element_id"`
	ElementFiles int      `json:"element_files"`
	CatalogFiles int      `json:"catalog_files"`
	Added        []string `json:"added"`   // files the catalog lacked
	Updated      []string `json:"updated"` // files the catalog held in an older version
	Removed      []string `json:"removed"` // files the element no longer holds
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
		rep.Repaired += len(er.Added) + len(er.Updated) + len(er.Removed)
		rep.Elements = append(rep.Elements, er)
	}
	rep.Duration = time.Since(rep.StartedAt).Seconds()
	if rep.Repaired > 0 {
		r.log.Warn("reconciliation repaired drift", "repaired", rep.Repaired)
	}
	return rep
}

// listPage is how many files reconciliation asks an element for at once;
// tests lower it.
var listPage = 1000

func (r *Reconciler) element(ctx context.Context, id string) ElementReport {
	er := ElementReport{ElementID: id, Added: []string{}, Updated: []string{}, Removed: []string{}}
	el, err := r.fleet.Get(id)
	if err != nil {
		er.Error = err.Error()
		return er
	}
	known := map[string]int64{}
	if err := r.cat.Files(ctx, id, func(fileID string, version int64) error {
		known[fileID] = version
		return nil
	}); err != nil {
		er.Error = err.Error()
		return er
	}
	er.CatalogFiles = len(known)
	// Page through the element's index. Files that come and go meanwhile
	// may be missed; one is only "missing" after the element confirms it
	// below.
	seen := map[string]bool{}
	for after := ""; ; {
		page, err := el.List(ctx, artstore.Page{Limit: listPage, After: after})
		if err != nil {
			er.Error = err.Error()
			return er
		}
		for i := range page.Items {
			f := &page.Items[i]
			if seen[f.FileID] {
				continue
			}
			seen[f.FileID] = true
			v, ok := known[f.FileID]
			switch {
			case !ok:
				if r.put(ctx, f, &er) {
					er.Added = append(er.Added, f.FileID)
				}
			case v < f.Version:
				if r.put(ctx, f, &er) {
					er.Updated = append(er.Updated, f.FileID)
				}
			}
		}
		if !page.HasMore {
			break
		}
		if page.Next == "" || page.Next == after {
			// An element that does not page by cursor would have the
			// rest of its files taken for missing below.
			er.Error = "the element's file list does not move on to a next page"
			return er
		}
		after = page.Next
	}
	er.ElementFiles = len(seen)
	for fileID, v := range known {
		if seen[fileID] {
			continue
		}
		if _, err := el.Stat(ctx, fileID); !errs.Is(errs.NotExist, err) {
			continue // still there (or unknown): leave it
		}
		if err := r.cat.Remove(ctx, id, fileID, v+1); err != nil {
			er.Error = err.Error()
			continue
		}
		er.Removed = append(er.Removed, fileID)
	}
	return er
}

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
