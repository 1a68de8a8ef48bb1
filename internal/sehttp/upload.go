package sehttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// maxField is the largest form field accepted; metadata is the largest.
const maxField = 64<<10 + 1024

// upload streams a multipart upload into the element. The form fields come
// first and the file part last, so that the element knows everything about
// the file before its content arrives and the content is never buffered.
// A part after the file, or a body cut short, fails the whole upload and
// nothing is stored.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	const op = "sehttp.upload"
	mr, err := r.MultipartReader()
	if err != nil {
		api.WriteError(w, r, errs.E(op, errs.Invalid, errs.Msg("expected a multipart/form-data body: %v", err)))
		return
	}
	nf := artstore.NewFile{Size: -1}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			api.WriteError(w, r, errs.E(op, errs.Invalid, errs.Msg("missing the file part")))
			return
		}
		if err != nil {
			api.WriteError(w, r, errs.E(op, errs.Invalid, errs.Msg("malformed multipart body: %v", err)))
			return
		}
		name := formName(part)
		if seen[name] {
			api.WriteError(w, r, errs.E(op, errs.Invalid, errs.Msg("field %q given twice", name)))
			return
		}
		seen[name] = true
		if name == "file" {
			if err := fileHeader(part, &nf); err != nil {
				api.WriteError(w, r, errs.E(op, err))
				return
			}
			content := &lastPart{part: part, mr: mr}
			f, err := h.el.Upload(r.Context(), nf, content)
			if err != nil {
				api.WriteError(w, r, err)
				return
			}
			w.Header().Set("Location", "api/v1/files/"+f.FileID)
			api.WriteJSON(w, http.StatusCreated, f)
			return
		}
		value, err := readField(part)
		if err != nil {
			api.WriteError(w, r, errs.E(op, err))
			return
		}
		if err := setField(&nf, name, value); err != nil {
			api.WriteError(w, r, errs.E(op, err))
			return
		}
	}
}

// formName returns the form name of a part without applying
// multipart's own clean-up of file names, which would hide a bad name.
func formName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["name"]
}

// fileHeader reads the original name and content type of the file part.
// The raw filename parameter is used: "../x" must be rejected, not quietly
// turned into "x".
func fileHeader(p *multipart.Part, nf *artstore.NewFile) error {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return errs.E(errs.Invalid, errs.Msg("malformed Content-Disposition of the file part"))
	}
	name, ok := params["filename"]
	if !ok {
		return errs.E(errs.Invalid, errs.Msg("the file part has no filename"))
	}
	nf.Filename = name
	if ct := p.Header.Get("Content-Type"); ct != "" && ct != "application/octet-stream" {
		nf.ContentType = ct
	}
	return nil
}

func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxField+1))
	if err != nil {
		return "", errs.E(errs.Invalid, errs.Msg("malformed multipart body: %v", err))
	}
	if len(b) > maxField {
		return "", errs.E(errs.TooLarge, errs.Msg("form field %q is over %d bytes", formName(p), maxField))
	}
	return string(b), nil
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
		if err := strictJSON(value, &nf.Tags); err != nil {
			return bad("tags must be a JSON array of strings: %v", err)
		}
	case "metadata":
		if err := strictJSON(value, &nf.Metadata); err != nil || nf.Metadata == nil {
			return bad("metadata must be a JSON object")
		}
	default:
		return bad("unknown form field %q", name)
	}
	return nil
}

func strictJSON(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// lastPart reads the file part and, at its end, makes sure the body ends
// properly with no further part; otherwise it fails the read, and with it
// the upload.
type lastPart struct {
	part *multipart.Part
	mr   *multipart.Reader
	done bool
}

func (l *lastPart) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	n, err := l.part.Read(p)
	if err == io.EOF {
		next, nerr := l.mr.NextPart()
		switch {
		case nerr == io.EOF:
			l.done = true
		case nerr != nil:
			return n, errs.E("sehttp.upload", errs.Invalid, errs.Msg("malformed multipart body after the file: %v", nerr))
		default:
			return n, errs.E("sehttp.upload", errs.Invalid, errs.Msg("field %q comes after the file part; the file must be the last part", formName(next)))
		}
	} else if err != nil {
		return n, errs.E("sehttp.upload", errs.Invalid, errs.Msg("reading the file part: %v", err))
	}
	return n, err
}
