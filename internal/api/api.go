// Package api holds ArtStore's HTTP conventions, shared by every service:
// the JSON error envelope and the one mapping from error kinds to status
// codes (and back, for clients), JSON request and response helpers, list
// pagination, and the authentication and role middleware.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/errs"
)

// ErrorBody is the JSON envelope of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the content of an error response.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// kindStatus is the one place where error kinds become HTTP statuses.
var kindStatus = map[errs.Kind]int{
	errs.Invalid:         http.StatusBadRequest,
	errs.NotExist:        http.StatusNotFound,
	errs.Exist:           http.StatusConflict,
	errs.Permission:      http.StatusForbidden,
	errs.Unauthenticated: http.StatusUnauthorized,
	errs.Conflict:        http.StatusConflict,
	errs.Unavailable:     http.StatusServiceUnavailable,
	errs.NoSpace:         http.StatusInsufficientStorage,
	errs.TooLarge:        http.StatusRequestEntityTooLarge,
	errs.Internal:        http.StatusInternalServerError,
	errs.Other:           http.StatusInternalServerError,
	errs.Locked:          http.StatusLocked,
	errs.Timeout:         http.StatusRequestTimeout,
}

// kindCode is the default machine-readable code of each kind.
var kindCode = map[errs.Kind]string{
	errs.Invalid:         "INVALID_ARGUMENT",
	errs.NotExist:        "NOT_FOUND",
	errs.Exist:           "ALREADY_EXISTS",
	errs.Permission:      "FORBIDDEN",
	errs.Unauthenticated: "UNAUTHENTICATED",
	errs.Conflict:        "CONFLICT",
	errs.Unavailable:     "UNAVAILABLE",
	errs.NoSpace:         "INSUFFICIENT_STORAGE",
	errs.TooLarge:        "TOO_LARGE",
	errs.Internal:        "INTERNAL",
	errs.Other:           "INTERNAL",
	errs.Locked:          "LOCKED",
	errs.Timeout:         "REQUEST_TIMEOUT",
}

// WriteError answers a request with err in the JSON envelope. Internal
// errors are logged and their details hidden from the caller.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away: nobody reads this answer, and the
		// failure is not the server's.
		slog.DebugContext(r.Context(), "client closed the request", "method", r.Method, "path", r.URL.Path)
		WriteJSON(w, StatusClientClosed, ErrorBody{Error: ErrorDetail{Code: "CLIENT_CLOSED_REQUEST", Message: "the client closed the request"}})
		return
	}
	kind := errs.KindOf(err)
	status := kindStatus[kind]
	code := errs.CodeOf(err)
	if code == "" {
		code = kindCode[kind]
	}
	msg := err.Error()
	if status >= 500 && kind != errs.Unavailable {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		// A refusal for want of room that carries its code was written
		// for the caller (which element lacks how much); a full disk's
		// own error, which names paths, stays hidden like any other.
		if kind != errs.NoSpace || errs.CodeOf(err) == "" {
			msg = "internal error"
		}
	}
	switch kind {
	case errs.Unauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="artstore"`)
	case errs.Unavailable:
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "5")
		}
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// StatusClientClosed is the status recorded (in metrics and logs) for a
// request whose client went away before the answer, as other servers do,
// so that it does not count as a server failure.
const StatusClientClosed = 499

// MaxJSONBody is the largest JSON request body accepted.
const MaxJSONBody = 1 << 20

// DecodeJSON reads a JSON request body into v, rejecting unknown fields,
// trailing data and bodies over MaxJSONBody.
func DecodeJSON(r *http.Request, v any) error {
	const op = "api.DecodeJSON"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return errs.E(op, errs.Invalid, errs.Msg("content type %q is not application/json", errs.Brief(ct)))
		}
	}
	if r.ContentLength > MaxJSONBody {
		return errs.E(op, errs.TooLarge, errs.Msg("JSON body over %d bytes", MaxJSONBody))
	}
	// A body sent without a length is cut at the limit as it is read,
	// which reading reports as a *http.MaxBytesError.
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxJSONBody))
	if err == nil {
		err = ParseJSON(body, v, true)
	}
	if err != nil {
		return BodyError(op, "invalid JSON body", err)
	}
	return nil
}

// ParseJSON decodes b, which must hold one JSON value and nothing after it,
// into v; with knownOnly, an object field v has no place for is an error.
// Text that is not valid UTF-8 is refused rather than quietly replaced with
// U+FFFD, as encoding/json would.
func ParseJSON(b []byte, v any, knownOnly bool) error {
	if !utf8.Valid(b) {
		return errs.Msg("the JSON text is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if knownOnly {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	switch _, err := dec.Token(); {
	case err == nil:
		return errs.Msg("trailing data")
	case err != io.EOF:
		return err
	}
	return nil
}

// BodyError classifies an error met while reading a request body as what:
// a body that stalled keeps its Timeout kind (408), one cut at a size limit
// is TooLarge (413), and anything else is the client's malformed body
// (Invalid, 400).
func BodyError(op, what string, err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errs.Is(errs.Timeout, err):
		return errs.E(op, err)
	case errors.As(err, &tooLarge):
		return errs.E(op, errs.TooLarge, errs.Msg("%s: the body is over %d bytes", what, tooLarge.Limit))
	}
	return errs.E(op, errs.Invalid, errs.Msg("%s: %v", what, err))
}

// Page limits of every list endpoint.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ParsePage reads limit and offset from the query string.
func ParsePage(r *http.Request) (limit, offset int, err error) {
	const op = "api.ParsePage"
	limit, offset = DefaultLimit, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		limit, err = strconv.Atoi(s)
		if err != nil || limit < 1 || limit > MaxLimit {
			return 0, 0, errs.E(op, errs.Invalid, errs.Msg("limit must be an integer from 1 to %d", MaxLimit))
		}
	}
	if s := q.Get("offset"); s != "" {
		offset, err = strconv.Atoi(s)
		if err != nil || offset < 0 {
			return 0, 0, errs.E(op, errs.Invalid, errs.Msg("offset must be a non-negative integer"))
		}
	}
	return limit, offset, nil
}

// ReadError turns an error response into an error with the kind and code it
// was sent with, so that a kind survives the trip between processes.
func ReadError(op string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb ErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error.Code == "" {
		// Not our envelope (a proxy, or the token endpoint's RFC 6749
		// shape): derive the kind from the status alone.
		return errs.E(op, StatusKind(resp.StatusCode), errs.Msg("%s: %s", resp.Status, strings.TrimSpace(string(body))))
	}
	// A default code names its kind exactly (409 is both Exist and
	// Conflict); any other code is kept as a refinement of the status's kind.
	for k, c := range kindCode {
		if c == eb.Error.Code && kindStatus[k] == resp.StatusCode && k != errs.Other {
			return errs.E(op, k, errors.New(eb.Error.Message))
		}
	}
	return errs.E(op, StatusKind(resp.StatusCode), errs.Code(eb.Error.Code), errors.New(eb.Error.Message))
}

// StatusKind maps an HTTP status back to an error kind.
func StatusKind(status int) errs.Kind {
	for k, s := range kindStatus {
		if s == status && k != errs.Other && k != errs.Exist {
			return k
		}
	}
	switch {
	case status == http.StatusRequestedRangeNotSatisfiable, status == http.StatusUnprocessableEntity:
		return errs.Invalid
	case status == http.StatusTooManyRequests, status == http.StatusBadGateway, status == http.StatusGatewayTimeout:
		return errs.Unavailable
	case status >= 400 && status < 500:
		return errs.Invalid
	}
	return errs.Internal
}

// Reply answers with err when it is not nil, else with v as JSON and
// status (no body for 204).
func Reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		WriteError(w, r, err)
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	default:
		WriteJSON(w, status, v)
	}
}

// StrictQuery parses the query string of r, which is Invalid when any of
// it is malformed: r.URL.Query() would drop that pair silently, and the
// request would be served for fewer conditions than it asked.
func StrictQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errs.E(errs.Invalid, errs.Msg("malformed query string: %v", err))
	}
	return q, nil
}

// KnownQuery reads the query string of r strictly: only the given names
// are allowed, each at most once. A misspelt parameter that was silently
// ignored would answer something the caller did not ask for, so anything
// else is Invalid.
func KnownQuery(r *http.Request, names ...string) (url.Values, error) {
	const op = "api.KnownQuery"
	q, err := StrictQuery(r)
	if err != nil {
		return nil, errs.E(op, err)
	}
	for k, v := range q {
		if !slices.Contains(names, k) {
			return nil, errs.E(op, errs.Invalid, errs.Msg("unknown query parameter %q", errs.Brief(k)))
		}
		if len(v) > 1 {
			return nil, errs.E(op, errs.Invalid, errs.Msg("query parameter %q given more than once", errs.Brief(k)))
		}
	}
	return q, nil
}

// ListQuery reads the query string of a list route as KnownQuery does,
// with limit and offset (see ParsePage) besides the given names.
func ListQuery(r *http.Request, names ...string) (q url.Values, limit, offset int, err error) {
	if q, err = KnownQuery(r, append([]string{"limit", "offset"}, names...)...); err != nil {
		return nil, 0, 0, err
	}
	limit, offset, err = ParsePage(r)
	return q, limit, offset, err
}
