// Package query is the read path of ArtStore: search over the catalog,
// file metadata, and downloads streamed from the storage element that
// holds a file, with byte ranges.
package query

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/fleet"
	"github.com/artstore/artstore/internal/naming"
	"github.com/artstore/artstore/internal/sehttp"
)

// Catalog is what the query service reads.
type Catalog interface {
	Get(ctx context.Context, fileID string) (*artstore.File, error)
	SearchRaw(ctx context.Context, q catalog.Query) (catalog.RawResult, error)
}

// Service is the query service.
type Service struct {
	cat   Catalog
	fleet *fleet.Fleet
}

// New returns a query service over a catalog and the elements it names.
func New(cat Catalog, fl *fleet.Fleet) *Service {
	return &Service{cat: cat, fleet: fl}
}

// Routes registers the query API on r. Every authenticated role may read.
func (s *Service) Routes(r chi.Router, authn api.Authenticator) {
	r.With(api.Allow(authn)).Post("/api/v1/search", s.handleSearch)
	r.With(api.Allow(authn)).Get("/api/v1/search", s.handleSearch)
	r.With(api.Allow(authn)).Get("/api/v1/files/{file_id}", s.handleGet)
	r.With(api.Allow(authn)).Get("/api/v1/files/{file_id}/download", s.handleDownload)
	r.With(api.Allow(authn)).Head("/api/v1/files/{file_id}/download", s.handleDownload)
}

// Get returns a file's metadata.
func (s *Service) Get(ctx context.Context, fileID string) (*artstore.File, error) {
	if err := naming.CheckFileID(fileID); err != nil {
		return nil, err
	}
	return s.cat.Get(ctx, fileID)
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	f, err := s.Get(r.Context(), chi.URLParam(r, "file_id"))
	api.Reply(w, r, http.StatusOK, f, err)
}

// handleDownload streams a file from the element that holds it. The
// catalog says where it is and gives the headers, from fields that never
// change for a file id; the element is only asked for the content, before
// any header is sent, so that a file deleted since is a 404 and never a
// broken stream. A request the headers answer alone (304 for a matching
// If-None-Match, 416 for a range outside the file) does not reach the
// element: until the catalog learns of a delete, a few milliseconds, it
// answers such a request for the deleted file as it did before.
func (s *Service) handleDownload(w http.ResponseWriter, r *http.Request) {
	const op = "query.download"
	ctx := r.Context()
	f, err := s.Get(ctx, chi.URLParam(r, "file_id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	el, err := s.fleet.Get(f.StorageElementID)
	if err != nil {
		api.WriteError(w, r, errs.E(op, errs.Unavailable, errs.Msg("file %s is on storage element %s, which this service does not reach", f.FileID, f.StorageElementID)))
		return
	}
	sehttp.ServeContent(w, r, f, func(off, n int64) (io.ReadCloser, error) {
		return el.Open(ctx, f.FileID, off, n)
	})
}

func (s *Service) handleSearch(w http.ResponseWriter, r *http.Request) {
	var q catalog.Query
	if r.Method == http.MethodPost {
		if err := api.DecodeJSON(r, &q); err != nil {
			api.WriteError(w, r, err)
			return
		}
	} else {
		v, err := api.StrictQuery(r)
		if err == nil {
			err = queryFromURL(v, &q)
		}
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	res, err := s.cat.SearchRaw(r.Context(), q)
	api.Reply(w, r, http.StatusOK, res, err)
}

// queryFromURL reads a search from query parameters: q (or query) and the
// same names as the JSON request; tags repeat or are comma-separated, and
// metadata filters are metadata.KEY=VALUE.
func queryFromURL(v url.Values, q *catalog.Query) error {
	bad := func(name string) error {
		return errs.E(errs.Invalid, errs.Msg("invalid value of %s", name))
	}
	if v.Has("q") && v.Has("query") {
		return errs.E(errs.Invalid, errs.Msg("give the query as q or as query, not both"))
	}
	for name, vals := range v {
		// Only tags may be given more than once; any other parameter
		// given twice is a mistake whichever value would be taken.
		if len(vals) > 1 && name != "tags" {
			return errs.E(errs.Invalid, errs.Msg("search parameter %q given more than once", name))
		}
		val := vals[0]
		switch {
		case name == "q" || name == "query":
			q.Query = val
		case name == "filename":
			q.Filename = val
		case name == "file_extension":
			q.FileExtension = val
		case name == "tags":
			for _, t := range vals {
				for _, tag := range strings.Split(t, ",") {
					if tag = strings.TrimSpace(tag); tag != "" {
						q.Tags = append(q.Tags, tag)
					}
				}
			}
		case name == "uploaded_by":
			q.UploadedBy = val
		case name == "content_type":
			q.ContentType = val
		case name == "min_size" || name == "max_size":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return bad(name)
			}
			if name == "min_size" {
				q.MinSize = &n
			} else {
				q.MaxSize = &n
			}
		case name == "uploaded_after" || name == "uploaded_before":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return bad(name)
			}
			if name == "uploaded_after" {
				q.UploadedAfter = &t
			} else {
				q.UploadedBefore = &t
			}
		case name == "retention_policy":
			q.RetentionPolicy = val
		case name == "storage_element_id":
			q.StorageElementID = val
		case strings.HasPrefix(name, "metadata."):
			if q.Metadata == nil {
				q.Metadata = map[string]string{}
			}
			q.Metadata[strings.TrimPrefix(name, "metadata.")] = val
		case name == "sort_by":
			q.SortBy = val
		case name == "sort_order":
			q.SortOrder = val
		case name == "limit" || name == "offset":
			n, err := strconv.Atoi(val)
			if err != nil || (name == "limit" && (n < 1 || n > 1000)) || n < 0 {
				return bad(name)
			}
			if name == "limit" {
				q.Limit = n
			} else {
				q.Offset = n
			}
		default:
			return errs.E(errs.Invalid, errs.Msg("unknown search parameter %q", name))
		}
	}
	return nil
}
