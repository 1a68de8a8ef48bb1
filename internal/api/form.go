package api

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// MaxFormField is the largest form field an upload accepts; metadata is the
// largest field.
const MaxFormField = 64<<10 + 1024

// Upload is the file part of a multipart upload, positioned at its first
// byte. Reading Content to its end also checks that the body ends properly
// with no part after the file; otherwise the read fails.
type Upload struct {
	Filename    string // the raw filename parameter, unsanitised
	ContentType string // empty when the client sent none or a generic one
	Content     io.Reader
}

// Describe sets nf's file name to the part's and its content type to the
// part's, unless the part's is empty: then a content_type field, if any,
// stands.
func (u *Upload) Describe(nf *artstore.NewFile) {
	nf.Filename = u.Filename
	if u.ContentType != "" {
		nf.ContentType = u.ContentType
	}
}

// ReadUpload streams a multipart/form-data upload: it passes each form
// field before the file part to field, and returns the file part without
// reading it, so that the content is never buffered. Fields must come
// before the file; a field given twice, a missing file part or a malformed
// body is an Invalid error, an over-long field TooLarge.
func ReadUpload(r *http.Request, field func(name, value string) error) (*Upload, error) {
	mr, err := multipartReader(r)
	if err != nil {
		return nil, errs.E(errs.Invalid, errs.Msg("expected a multipart/form-data body: %v", err))
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, errs.E(errs.Invalid, errs.Msg("missing the file part"))
		}
		if err != nil {
			return nil, BodyError("api.ReadUpload", "malformed multipart body", err)
		}
		name := formName(part)
		if seen[name] {
			return nil, errs.E(errs.Invalid, errs.Msg("field %q given twice", name))
		}
		seen[name] = true
		if name == "file" {
			u, err := fileHeader(part)
			if err != nil {
				return nil, err
			}
			u.Content = &lastPart{part: part, mr: mr}
			return u, nil
		}
		value, err := readField(part)
		if err != nil {
			return nil, err
		}
		if err := field(name, value); err != nil {
			return nil, err
		}
	}
}

// bodyBuffer is the size of the buffer between an upload's body and the
// multipart parser. The parser reads a few KiB at a time; without it, each
// of those reads is a read from the socket, which costs a gigabyte upload a
// quarter of a million system calls.
const bodyBuffer = 128 << 10

// multipartReader is r.MultipartReader over a larger read buffer.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if mt != "multipart/form-data" {
		return nil, errors.New("content type is " + mt)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("no multipart boundary")
	}
	return multipart.NewReader(bufio.NewReaderSize(r.Body, bodyBuffer), boundary), nil
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
func fileHeader(p *multipart.Part) (*Upload, error) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return nil, errs.E(errs.Invalid, errs.Msg("malformed Content-Disposition of the file part"))
	}
	name, ok := params["filename"]
	if !ok {
		return nil, errs.E(errs.Invalid, errs.Msg("the file part has no filename"))
	}
	u := &Upload{Filename: name}
	if ct := p.Header.Get("Content-Type"); ct != "" && ct != "application/octet-stream" {
		u.ContentType = ct
	}
	return u, nil
}

func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, MaxFormField+1))
	if err != nil {
		return "", BodyError("api.ReadUpload", "malformed multipart body", err)
	}
	if len(b) > MaxFormField {
		return "", errs.E(errs.TooLarge, errs.Msg("form field %q is over %d bytes", formName(p), MaxFormField))
	}
	return string(b), nil
}

// SetFileField applies to nf one of the form fields every upload form
// takes: description, content_type, size, tags and metadata. Any other name
// is an unknown field.
func SetFileField(nf *artstore.NewFile, name, value string) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, errs.Msg(format, args...))
	}
	switch name {
	case "description":
		nf.Description = value
	case "content_type":
		nf.ContentType = value
	case "size":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 {
			return bad("size must be a non-negative integer")
		}
		nf.Size = n
	case "tags":
		if err := ParseJSON([]byte(value), &nf.Tags, false); err != nil {
			return bad("tags must be a JSON array of strings: %v", err)
		}
	case "metadata":
		if err := ParseJSON([]byte(value), &nf.Metadata, false); err != nil || nf.Metadata == nil {
			return bad("metadata must be a JSON object")
		}
	default:
		return bad("unknown form field %q", errs.Brief(name))
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
	const op = "api.ReadUpload"
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
			return n, BodyError(op, "malformed multipart body after the file", nerr)
		default:
			return n, errs.E(op, errs.Invalid, errs.Msg("field %q comes after the file part; the file must be the last part", formName(next)))
		}
	} else if err != nil {
		return n, BodyError(op, "reading the file part", err)
	}
	return n, err
}
