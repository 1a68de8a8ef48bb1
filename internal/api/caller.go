package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/artstore/artstore/internal/errs"
)

// Caller sends requests to one ArtStore service: it authenticates them
// with a bearer token (the caller's forwarded one when the context carries
// it, else one from Tokens) and turns any non-2xx answer into an error of
// the kind the service sent.
type Caller struct {
	Base   string // e.g. http://127.0.0.1:8080/elements/rw-01
	HTTP   *http.Client
	Tokens TokenSource // nil: no token unless one is forwarded
}

// Do sends a request and returns the response of a 2xx status. A request
// whose token from Tokens is refused (401) is sent once more with a new
// token when Tokens is an Invalidator and the body can be sent again.
func (c *Caller) Do(ctx context.Context, op, method, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	tok, forwarded := ForwardedToken(ctx)
	inv, renews := c.Tokens.(Invalidator)
	renews = renews && !forwarded
	for try := 0; ; try++ {
		if !forwarded && c.Tokens != nil {
			if tok, err = c.Tokens.Token(ctx); err != nil {
				return nil, errs.E(op, err)
			}
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, errs.E(op, errs.Unavailable, err)
		}
		if resp.StatusCode/100 == 2 {
			return resp, nil
		}
		refused := resp.StatusCode == http.StatusUnauthorized && renews
		if refused {
			inv.Invalidate(tok)
		}
		if !refused || try > 0 || (body != nil && req.GetBody == nil) {
			defer resp.Body.Close()
			return nil, ReadError(op, resp)
		}
		resp.Body.Close()
		if body != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, errs.E(op, errs.Invalid, err)
			}
		}
	}
}

// Call sends a request with an optional JSON body and decodes a JSON
// answer into out (when out is not nil).
func (c *Caller) Call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	hdr := http.Header{}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return errs.E(op, errs.Invalid, err)
		}
		body = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(ctx, op, method, path, hdr, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return errs.E(op, errs.Unavailable, errs.Msg("decoding the answer: %v", err))
	}
	return nil
}

// PostUpload streams a multipart/form-data upload to path: the fields first
// (empty values left out), then the part "file" named filename with
// contentType, holding content. The form is written through a pipe while
// it is sent, so nothing is buffered; the JSON answer is decoded into out.
// It returns only when the writer is done with content.
func (c *Caller) PostUpload(ctx context.Context, op, path string, fields [][2]string, filename, contentType string, content io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeForm(mw, fields, filename, contentType, content))
	}()
	resp, err := c.Do(ctx, op, "POST", path, http.Header{"Content-Type": {mw.FormDataContentType()}}, pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the server answered early
	<-done
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return errs.E(op, errs.Unavailable, errs.Msg("decoding the answer: %v", err))
	}
	return nil
}

// writeForm writes an upload form: every field first, the file last, as
// ReadUpload expects.
func writeForm(mw *multipart.Writer, fields [][2]string, filename, contentType string, content io.Reader) error {
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, content); err != nil {
		return err
	}
	return mw.Close()
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
