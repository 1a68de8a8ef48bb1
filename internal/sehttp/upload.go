package sehttp

import (
	"net/http"
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
	u.Describe(&nf)
	// A file id names one file across every element, and catalogs take
	// the highest version of an id wherever it lies: a caller who could
	// choose one could shadow another's file. Only finalize, which copies
	// a file under its own id, and administrators choose ids.
	switch {
	case nf.Preserve != nil && !isAdmin(r):
		api.WriteError(w, r, errs.E(op, errs.Permission, errs.Msg("only the admin roles may preserve another element's uploader, time and version")))
		return
	case nf.FileID != "" && !isAdmin(r):
		api.WriteError(w, r, errs.E(op, errs.Permission, errs.Msg("only the admin roles may choose a file id")))
		return
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

// setField applies one form field to the upload: the fields every upload
// form takes, and those an element's own form adds.
func setField(nf *artstore.NewFile, name, value string) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, errs.Msg(format, args...))
	}
	switch name {
	case "file_id":
		nf.FileID = value
	case "retention_policy":
		nf.RetentionPolicy = artstore.RetentionPolicy(value)
	case "expires_at":
		t, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return bad("expires_at must be an RFC 3339 time")
		}
		nf.ExpiresAt = &t
	case "compress":
		nf.Compression = value
	case "checksum":
		nf.ExpectChecksum = value
	case "preserve":
		var p artstore.Preserved
		if err := api.ParseJSON([]byte(value), &p, false); err != nil {
			return bad("preserve must be a JSON object with uploaded_by, uploaded_at and version")
		}
		nf.Preserve = &p
	default:
		return api.SetFileField(nf, name, value)
	}
	return nil
}
