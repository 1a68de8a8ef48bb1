package sehttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// upload streams a multipart upload into the element. The form fields come
// first and the file part last, so that the element knows everything about
// the file before its content arrives and the content is never buffered.
// A part after the file, or a body cut short, fails the whole upload and
// nothing is stored.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	const op = "sehttp.upload"
	nf := artstore.NewFile{Size: -1}
	u, err := api.ReadUpload(r, func(name, value string) error { return setField(&nf, name, value) })
	if err != nil {
		api.WriteError(w, r, errs.E(op, err))
		return
	}
	nf.Filename = u.Filename
	if u.ContentType != "" {
		nf.ContentType = u.ContentType
	}
	if nf.Preserve != nil {
		if p, _ := artstore.PrincipalFrom(r.Context()); p.Role != artstore.RoleAdmin {
			api.WriteError(w, r, errs.E(op, errs.Permission, errs.Msg("only role admin may preserve another element's uploader, time and version")))
			return
		}
	}
	f, err := h.el.Upload(r.Context(), nf, u.Content)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	// Relative to the request's .../api/v1/files, wherever the element
	// is mounted.
	w.Header().Set("Location", "files/"+f.FileID)
	api.WriteJSON(w, http.StatusCreated, f)
}

// setField applies one form field to the upload.
func setField(nf *artstore.NewFile, name, value string) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, errs.Msg(format, args...))
	}
	switch name {
	case "file_id":
		nf.FileID = value
	case "description":
		nf.Description = value
	case "retention_policy":
		nf.RetentionPolicy = artstore.RetentionPolicy(value)
	case "content_type":
		nf.ContentType = value
	case "expires_at":
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return bad("expires_at must be an RFC 3339 time")
		}
		nf.ExpiresAt = &t
	case "size":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return bad("size must be a non-negative integer")
		}
		nf.Size = n
	case "tags":
		if err := api.StrictJSON(value, &nf.Tags); err != nil {
			return bad("tags must be a JSON array of strings: %v", err)
		}
	case "compress":
		nf.Compression = value
	case "checksum":
		nf.ExpectChecksum = value
	case "preserve":
		var p artstore.Preserved
		if err := api.StrictJSON(value, &p); err != nil {
			return bad("preserve must be a JSON object with uploaded_by, uploaded_at and version")
		}
		nf.Preserve = &p
	case "metadata":
		if err := api.StrictJSON(value, &nf.Metadata); err != nil || nf.Metadata == nil {
			return bad("metadata must be a JSON object")
		}
	default:
		return bad("unknown form field %q", name)
	}
	return nil
}
