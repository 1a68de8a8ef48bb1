package sehttp

import (
	"fmt"
	"io"
	"math"
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
		switch start, length, answer := parseRange(rh, f.Size); answer {
		case rangeUnsatisfiable:
			hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", f.Size))
			api.WriteJSON(w, http.StatusRequestedRangeNotSatisfiable, api.ErrorBody{Error: api.ErrorDetail{
				Code: "RANGE_NOT_SATISFIABLE", Message: fmt.Sprintf("range %q cannot be satisfied for %d bytes", errs.Brief(rh), f.Size)}})
			return
		case rangePart:
			off, n, status = start, length, http.StatusPartialContent
			hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, f.Size))
		}
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

// rangeAnswer is what a Range header asks of a download.
type rangeAnswer int

const (
	rangeWhole         rangeAnswer = iota // ignore the header: 200 with the whole file
	rangePart                             // 206 with one range
	rangeUnsatisfiable                    // 416
)

// parseRange parses a Range header (RFC 9110 §14.2) for a file of size
// bytes. One byte range is served: "bytes=a-b", "bytes=a-" or the suffix
// "bytes=-n", an end or suffix beyond the file clipped to it, however large
// the number. A header of another unit, or of several ranges, is ignored
// and the whole file sent, as the RFC allows a server that does not
// support them; so is a suffix on an empty file. A malformed range, or one
// that starts at or beyond the end, is not satisfiable.
func parseRange(h string, size int64) (off, n int64, answer rangeAnswer) {
	unit, spec, found := strings.Cut(h, "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(spec, ",") {
		return 0, 0, rangeWhole
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, rangeUnsatisfiable
	}
	if a == "" {
		suffix, ok := rangeNumber(b)
		switch {
		case !ok || suffix == 0:
			return 0, 0, rangeUnsatisfiable
		case size == 0:
			return 0, 0, rangeWhole
		}
		suffix = min(suffix, size)
		return size - suffix, suffix, rangePart
	}
	start, ok := rangeNumber(a)
	if !ok || start >= size {
		return 0, 0, rangeUnsatisfiable
	}
	end := size - 1
	if b != "" {
		e, ok := rangeNumber(b)
		if !ok || e < start {
			return 0, 0, rangeUnsatisfiable
		}
		end = min(e, size-1)
	}
	return start, end - start + 1, rangePart
}

// rangeNumber parses the digits of a range; a number too large for int64
// is taken as the largest, which any clipping brings back to the file.
func rangeNumber(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt64, true // only out of range, being all digits
	}
	return v, true
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
