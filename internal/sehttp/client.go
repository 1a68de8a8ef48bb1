package sehttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
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

// Upload implements artstore.Element. It streams the content; nothing is
// buffered.
func (c *Client) Upload(ctx context.Context, nf artstore.NewFile, content io.Reader) (*artstore.File, error) {
	fields := [][2]string{
		{"file_id", nf.FileID},
		{"description", nf.Description},
		{"retention_policy", string(nf.RetentionPolicy)},
		{"compress", nf.Compression},
		{"checksum", nf.ExpectChecksum},
	}
	if nf.Size >= 0 {
		fields = append(fields, [2]string{"size", strconv.FormatInt(nf.Size, 10)})
	}
	if nf.ExpiresAt != nil {
		fields = append(fields, [2]string{"expires_at", nf.ExpiresAt.UTC().Format(time.RFC3339Nano)})
	}
	for _, v := range []struct {
		name string
		set  bool
		val  any
	}{{"tags", nf.Tags != nil, nf.Tags}, {"metadata", nf.Metadata != nil, nf.Metadata}, {"preserve", nf.Preserve != nil, nf.Preserve}} {
		if v.set {
			b, _ := json.Marshal(v.val)
			fields = append(fields, [2]string{v.name, string(b)})
		}
	}
	var f artstore.File
	if err := c.PostUpload(ctx, "sehttp.Upload", "/api/v1/files", fields, nf.Filename, nf.ContentType, content, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

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
	if p.After != "" {
		q.Set("after", p.After)
	}
	if p.ByID {
		q.Set("order", "file_id")
	}
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
