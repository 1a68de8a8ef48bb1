package sehttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Client is a remote storage element. It implements artstore.Element, so
// callers cannot tell it from an element in their own process.
type Client struct {
	api.Caller
}

var _ artstore.Element = (*Client)(nil)

// NewClient returns a client of the element whose API is at base (for an
// embedded element, http://host/elements/ID). hc may be nil.
func NewClient(base string, tokens api.TokenSource, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{api.Caller{Base: strings.TrimSuffix(base, "/"), HTTP: hc, Tokens: tokens}}
}

func fileURL(id string) string { return "/api/v1/files/" + url.PathEscape(id) }

// Info implements artstore.Element.
func (c *Client) Info(ctx context.Context) (artstore.ElementInfo, error) {
	var info artstore.ElementInfo
	err := c.Call(ctx, "sehttp.Info", "GET", "/api/v1/info", nil, &info)
	return info, err
}

// Upload implements artstore.Element. It streams the content through a
// pipe; nothing is buffered.
func (c *Client) Upload(ctx context.Context, nf artstore.NewFile, content io.Reader) (*artstore.File, error) {
	const op = "sehttp.Upload"
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeUpload(mw, nf, content))
	}()
	hdr := http.Header{"Content-Type": {mw.FormDataContentType()}}
	resp, err := c.Do(ctx, op, "POST", "/api/v1/files", hdr, pr)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if the server answered early
	// The caller may reuse or close content once Upload returns, so the
	// writer must be done with it.
	<-done
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var f artstore.File
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	return &f, nil
}

// writeUpload writes the form: every field first, the file last.
func writeUpload(mw *multipart.Writer, nf artstore.NewFile, content io.Reader) error {
	fields := [][2]string{
		{"file_id", nf.FileID},
		{"description", nf.Description},
		{"retention_policy", string(nf.RetentionPolicy)},
	}
	if nf.Size >= 0 {
		fields = append(fields, [2]string{"size", strconv.FormatInt(nf.Size, 10)})
	}
	if nf.ExpiresAt != nil {
		fields = append(fields, [2]string{"expires_at", nf.ExpiresAt.UTC().Format(time.RFC3339Nano)})
	}
	if nf.Tags != nil {
		b, _ := json.Marshal(nf.Tags)
		fields = append(fields, [2]string{"tags", string(b)})
	}
	if nf.Metadata != nil {
		b, _ := json.Marshal(nf.Metadata)
		fields = append(fields, [2]string{"metadata", string(b)})
	}
	if nf.Compression != "" {
		fields = append(fields, [2]string{"compress", nf.Compression})
	}
	if nf.ExpectChecksum != "" {
		fields = append(fields, [2]string{"checksum", nf.ExpectChecksum})
	}
	if nf.Preserve != nil {
		b, _ := json.Marshal(nf.Preserve)
		fields = append(fields, [2]string{"preserve", string(b)})
	}
	for _, f := range fields {
		if f[1] == "" {
			continue
		}
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+escapeQuotes(nf.Filename)+`"`)
	ct := nf.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, content); err != nil {
		return err
	}
	return mw.Close()
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// Stat implements artstore.Element.
func (c *Client) Stat(ctx context.Context, fileID string) (*artstore.File, error) {
	var f artstore.File
	if err := c.Call(ctx, "sehttp.Stat", "GET", fileURL(fileID), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// List implements artstore.Element.
func (c *Client) List(ctx context.Context, p artstore.Page) (artstore.FileList, error) {
	var l artstore.FileList
	q := url.Values{"limit": {strconv.Itoa(p.Limit)}, "offset": {strconv.Itoa(p.Offset)}}
	err := c.Call(ctx, "sehttp.List", "GET", "/api/v1/files?"+q.Encode(), nil, &l)
	return l, err
}

// Open implements artstore.Element with a Range request.
func (c *Client) Open(ctx context.Context, fileID string, off, n int64) (io.ReadCloser, error) {
	hdr := http.Header{}
	switch {
	case n == 0:
		return io.NopCloser(strings.NewReader("")), nil
	case n > 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := c.Do(ctx, "sehttp.Open", "GET", fileURL(fileID)+"/download", hdr, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Update implements artstore.Element.
func (c *Client) Update(ctx context.Context, fileID string, p artstore.FilePatch) (*artstore.File, error) {
	var f artstore.File
	if err := c.Call(ctx, "sehttp.Update", "PATCH", fileURL(fileID), p, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Delete implements artstore.Element.
func (c *Client) Delete(ctx context.Context, fileID string) error {
	return c.Call(ctx, "sehttp.Delete", "DELETE", fileURL(fileID), nil, nil)
}

// Purge implements artstore.Element.
func (c *Client) Purge(ctx context.Context, fileID string) error {
	return c.Call(ctx, "sehttp.Purge", "DELETE", "/api/v1/gc/"+url.PathEscape(fileID), nil, nil)
}

// SetMode implements artstore.Element.
func (c *Client) SetMode(ctx context.Context, m artstore.Mode) (artstore.ElementInfo, error) {
	var info artstore.ElementInfo
	err := c.Call(ctx, "sehttp.SetMode", "POST", "/api/v1/mode", map[string]artstore.Mode{"mode": m}, &info)
	return info, err
}

// Changes implements artstore.Element.
func (c *Client) Changes(ctx context.Context, since int64, limit int, wait time.Duration) (artstore.Changes, error) {
	var ch artstore.Changes
	q := url.Values{"since": {strconv.FormatInt(since, 10)}, "limit": {strconv.Itoa(limit)}}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	err := c.Call(ctx, "sehttp.Changes", "GET", "/api/v1/changes?"+q.Encode(), nil, &ch)
	return ch, err
}

// Rebuild implements artstore.Element.
func (c *Client) Rebuild(ctx context.Context) (artstore.RebuildReport, error) {
	var r artstore.RebuildReport
	err := c.Call(ctx, "sehttp.Rebuild", "POST", "/api/v1/rebuild", nil, &r)
	return r, err
}

// Verify implements artstore.Element.
func (c *Client) Verify(ctx context.Context) (artstore.VerifyReport, error) {
	var r artstore.VerifyReport
	err := c.Call(ctx, "sehttp.Verify", "POST", "/api/v1/verify", nil, &r)
	return r, err
}
