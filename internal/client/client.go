// Package client is the Go client of ArtStore's public API: upload,
// metadata, download with resume, search, update, delete and finalize. The
// command line is built on it; applications written in Go can use it too.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
)

// Client calls one ArtStore server.
type Client struct {
	api.Caller
}

// New returns a client of server authenticating with tokens.
func New(server string, tokens api.TokenSource) *Client {
	return &Client{api.Caller{Base: strings.TrimSuffix(server, "/"), HTTP: &http.Client{}, Tokens: tokens}}
}

// UploadOptions describe a file to upload.
type UploadOptions struct {
	Permanent   bool
	TTLDays     int // temporary files; 0: the server's default
	Description string
	Tags        []string
	Metadata    map[string]any
	ContentType string
	Compress    bool // store compressed (zstd) on the element
}

// Upload streams size bytes of r as a file named name.
func (c *Client) Upload(ctx context.Context, name string, r io.Reader, size int64, o UploadOptions) (*artstore.File, error) {
	fields := [][2]string{{"size", strconv.FormatInt(size, 10)}, {"description", o.Description}}
	if o.Permanent {
		fields = append(fields, [2]string{"retention_policy", "permanent"})
	} else if o.TTLDays > 0 {
		fields = append(fields, [2]string{"ttl_days", strconv.Itoa(o.TTLDays)})
	}
	if o.Compress {
		fields = append(fields, [2]string{"compress", "zstd"})
	}
	if len(o.Tags) > 0 {
		b, _ := json.Marshal(o.Tags)
		fields = append(fields, [2]string{"tags", string(b)})
	}
	if len(o.Metadata) > 0 {
		b, _ := json.Marshal(o.Metadata)
		fields = append(fields, [2]string{"metadata", string(b)})
	}
	var f artstore.File
	if err := c.PostUpload(ctx, "client.Upload", "/api/v1/files/upload", fields, name, o.ContentType, r, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Stat returns a file's metadata.
func (c *Client) Stat(ctx context.Context, fileID string) (*artstore.File, error) {
	var f artstore.File
	if err := c.Call(ctx, "client.Stat", "GET", "/api/v1/files/"+url.PathEscape(fileID), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Download opens the file's content from offset on. When offset is
// positive, etag (the file's quoted checksum) guards the resumption: if the
// file changed, the server sends it whole. It returns the offset the
// content starts at: offset, or 0 when the whole file comes.
func (c *Client) Download(ctx context.Context, fileID string, offset int64, etag string) (io.ReadCloser, int64, error) {
	const op = "client.Download"
	hdr := http.Header{}
	if offset > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if etag != "" {
			hdr.Set("If-Range", etag)
		}
	}
	resp, err := c.Do(ctx, op, "GET", "/api/v1/files/"+url.PathEscape(fileID)+"/download", hdr, nil)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusPartialContent {
		return resp.Body, offset, nil
	}
	return resp.Body, 0, nil
}

// Search runs a search.
func (c *Client) Search(ctx context.Context, q catalog.Query) (catalog.Result, error) {
	var res catalog.Result
	err := c.Call(ctx, "client.Search", "POST", "/api/v1/search", q, &res)
	return res, err
}

// Delete deletes a temporary file.
func (c *Client) Delete(ctx context.Context, fileID string) error {
	return c.Call(ctx, "client.Delete", "DELETE", "/api/v1/files/"+url.PathEscape(fileID), nil, nil)
}

// Finalize turns a temporary file into a permanent one.
func (c *Client) Finalize(ctx context.Context, fileID string) (*artstore.File, error) {
	var f artstore.File
	if err := c.Call(ctx, "client.Finalize", "POST", "/api/v1/files/"+url.PathEscape(fileID)+"/finalize", nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
