package sehttp

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// download serves a file's content, whole or one byte range (RFC 9110),
// with the checksum as a strong ETag. HEAD answers the same headers.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	f, err := h.el.Stat(r.Context(), chi.URLParam(r, "file_id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	ServeContent(w, r, f, func(off, n int64) (io.ReadCloser, error) {
		return h.el.Open(r.Context(), f.FileID, off, n)
	})
}

// ServeContent answers a download request for f, opening the content with
// open. It is shared by every service that serves file content.
func ServeContent(w http.ResponseWriter, r *http.Request, f *artstore.File, open func(off, n int64) (io.ReadCloser, error)) {
	etag := `"` + f.Checksum + `"`
	hdr := w.Header()
	hdr.Set("ETag", etag)
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("Last-Modified", f.UploadedAt.UTC().Format(http.TimeFormat))
	hdr.Set("Content-Disposition", ContentDisposition(f.OriginalFilename))
	hdr.Set("Content-Type", f.ContentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Checksum-Sha256", f.Checksum)

	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	off, n, status := int64(0), f.Size, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" && ifRange(r.Header.Get("If-Range"), etag, f) {
		start, length, ok := parseRange(rh, f.Size)
		if !ok {
			hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", f.Size))
			api.WriteJSON(w, http.StatusRequestedRangeNotSatisfiable, api.ErrorBody{Error: api.ErrorDetail{
				Code: "RANGE_NOT_SATISFIABLE", Message: fmt.Sprintf("range %q cannot be satisfied for %d bytes", errs.Brief(rh), f.Size)}})
			return
		}
		off, n, status = start, length, http.StatusPartialContent
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, f.Size))
	}
	rc, err := open(off, n)
	if err != nil {
		hdr.Del("Content-Disposition")
		hdr.Del("Content-Range")
		api.WriteError(w, r, err)
		return
	}
	defer rc.Close()
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	// io.Copy lets a local file reach the socket with sendfile.
	io.Copy(w, rc)
}

// ifRange reports whether a Range header applies given If-Range. Only the
// strong ETag or the exact Last-Modified date validate.
func ifRange(v, etag string, f *artstore.File) bool {
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) {
		return v == etag
	}
	t, err := http.ParseTime(v)
	return err == nil && t.Equal(f.UploadedAt.UTC().Truncate(1e9))
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// parseRange parses a single byte range: "bytes=a-b", "bytes=a-" or the
// suffix form "bytes=-n". Several ranges, a malformed header or a range
// that starts beyond the end are not satisfiable. An end beyond the file
// is clipped to it.
func parseRange(h string, size int64) (off, n int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		suffix, err := strconv.ParseInt(b, 10, 64)
		if err != nil || suffix <= 0 || size == 0 {
			return 0, 0, false
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end := size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end - start + 1, true
}

// ContentDisposition builds an attachment header for name: a quoted ASCII
// fallback and, for other names, the RFC 6266 / RFC 8187 UTF-8 form.
func ContentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	v := `attachment; filename="` + ascii + `"`
	if ascii != name {
		v += "; filename*=UTF-8''" + strings.ReplaceAll(url.PathEscape(name), "+", "%2B")
	}
	return v
}
