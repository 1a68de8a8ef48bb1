package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

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

// Do sends a request and returns the response of a 2xx status.
func (c *Caller) Do(ctx context.Context, op, method, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	tok, ok := ForwardedToken(ctx)
	if !ok && c.Tokens != nil {
		if tok, err = c.Tokens.Token(ctx); err != nil {
			return nil, errs.E(op, err)
		}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, ReadError(op, resp)
	}
	return resp, nil
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
