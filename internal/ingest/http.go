package ingest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Routes registers the ingest API on r.
func (s *Service) Routes(r chi.Router, authn api.Authenticator) {
	r.With(api.Allow(authn, api.WriterRoles...)).Post("/api/v1/files/upload", s.handleUpload)
	r.With(api.Allow(authn, api.WriterRoles...)).Patch("/api/v1/files/{file_id}", s.handleUpdate)
	r.With(api.Allow(authn, api.WriterRoles...)).Delete("/api/v1/files/{file_id}", s.handleDelete)
	r.With(api.Allow(authn, api.WriterRoles...)).Post("/api/v1/files/{file_id}/finalize", s.handleFinalize)
}

// handleUpload streams a multipart upload through to a storage element.
// The caller's own token goes with it, so that the element checks the
// caller's rights and records the caller as the uploader.
func (s *Service) handleUpload(w http.ResponseWriter, r *http.Request) {
	const op = "ingest.upload"
	req := UploadRequest{NewFile: artstore.NewFile{Size: -1}}
	u, err := api.ReadUpload(r, func(name, value string) error { return setField(&req, name, value) })
	if err != nil {
		api.WriteError(w, r, errs.E(op, err))
		return
	}
	u.Describe(&req.NewFile)
	ctx := r.Context()
	if tok, err := api.BearerToken(r); err == nil {
		ctx = api.WithForwardedToken(ctx, tok)
	}
	f, err := s.Upload(ctx, req, u.Content)
	if err != nil {
		if errs.CodeOf(err) == "NO_STORAGE_AVAILABLE" {
			w.Header().Set("Retry-After", "30")
		}
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/files/"+f.FileID)
	api.WriteJSON(w, http.StatusCreated, f)
}

// setField applies one form field of an upload: the fields every upload
// form takes, and the retention policy, its lifetime and compression, which
// are checked here.
func setField(req *UploadRequest, name, value string) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, errs.Msg(format, args...))
	}
	switch name {
	case "retention_policy":
		req.RetentionPolicy = artstore.RetentionPolicy(value)
		if !req.RetentionPolicy.Valid() {
			return bad("unknown retention_policy %q: use temporary or permanent", errs.Brief(value))
		}
	case "ttl_days":
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || n < MinTTLDays || n > MaxTTLDays {
			return bad("ttl_days must be a whole number between %d and %d", MinTTLDays, MaxTTLDays)
		}
		req.TTLDays = n
	case "compress":
		if value != "zstd" {
			return bad("compress must be zstd")
		}
		req.Compression = value
	default:
		return api.SetFileField(&req.NewFile, name, value)
	}
	return nil
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var p artstore.FilePatch
	if err := api.DecodeJSON(r, &p); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if p.MinVersion != 0 {
		// Versions are the elements' to give; the field is for rolling
		// back a finalize.
		api.WriteError(w, r, errs.E("ingest.Update", errs.Invalid, errs.Msg("min_version is not a field of a file's metadata")))
		return
	}
	f, err := s.Update(r.Context(), chi.URLParam(r, "file_id"), p)
	api.Reply(w, r, http.StatusOK, f, err)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	err := s.Delete(r.Context(), chi.URLParam(r, "file_id"))
	api.Audit(s.auditor, r, "file.delete", chi.URLParam(r, "file_id"), err)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleFinalize(w http.ResponseWriter, r *http.Request) {
	f, err := s.Finalize(r.Context(), chi.URLParam(r, "file_id"))
	api.Audit(s.auditor, r, "file.finalize", chi.URLParam(r, "file_id"), err)
	if err != nil {
		if errs.CodeOf(err) == "NO_STORAGE_AVAILABLE" {
			w.Header().Set("Retry-After", "30")
		}
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, f)
}
