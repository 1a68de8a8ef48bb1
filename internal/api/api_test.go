package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/errs"
)

// TestErrorRoundTrip checks that every kind survives being written as an
// HTTP response and read back by a client.
func TestErrorRoundTrip(t *testing.T) {
	cases := []struct {
		err  error
		kind errs.Kind
		code string
	}{
		{errs.E("op", errs.NotExist, errs.Msg("gone")), errs.NotExist, ""},
		{errs.E("op", errs.Exist, errs.Msg("dup")), errs.Exist, ""},
		{errs.E("op", errs.Conflict, errs.Msg("busy")), errs.Conflict, ""},
		{errs.E("op", errs.Conflict, errs.Code("MODE_NOT_ALLOWED"), errs.Msg("ro")), errs.Conflict, "MODE_NOT_ALLOWED"},
		{errs.E("op", errs.Invalid, errs.Msg("bad")), errs.Invalid, ""},
		{errs.E("op", errs.Permission, errs.Msg("no")), errs.Permission, ""},
		{errs.E("op", errs.Unauthenticated, errs.Msg("who")), errs.Unauthenticated, ""},
		{errs.E("op", errs.Unavailable, errs.Msg("down")), errs.Unavailable, ""},
		{errs.E("op", errs.NoSpace, errs.Msg("write /srv/x: no space left on device")), errs.NoSpace, ""},
		{errs.E("op", errs.NoSpace, errs.Code("CAPACITY_EXCEEDED"), errs.Msg("element rw-01 has 1 bytes available")), errs.NoSpace, "CAPACITY_EXCEEDED"},
		{errs.E("op", errs.TooLarge, errs.Msg("big")), errs.TooLarge, ""},
		{errs.E("op", errs.Internal, errs.Msg("bug")), errs.Internal, ""},
		{errs.E("op", errs.Timeout, errs.Msg("slow")), errs.Timeout, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest("GET", "/", nil), c.err)
		got := ReadError("client", rec.Result())
		if errs.KindOf(got) != c.kind || errs.CodeOf(got) != c.code {
			t.Errorf("%v: round trip gave kind %v code %q, want %v %q", c.err, errs.KindOf(got), errs.CodeOf(got), c.kind, c.code)
		}
		if c.kind == errs.Unauthenticated && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
		if c.kind == errs.Internal && rec.Code != http.StatusInternalServerError {
			t.Errorf("internal error gave %d", rec.Code)
		}
		// An internal error's details stay hidden, and so does a full
		// disk's; which element lacks room is the caller's to know.
		hidden := strings.Contains(got.Error(), "internal error")
		if hidden != (c.kind == errs.Internal || c.kind == errs.NoSpace && c.code == "") {
			t.Errorf("%v: the answer says %q", c.err, got)
		}
	}
}

// TestClientClosed checks that a request failing because its client went
// away is recorded as 499, not as a server failure, while a cancellation
// the server made is still one.
func TestClientClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := errs.E("catalog.Search", fmt.Errorf("query: %w", context.Canceled))
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("POST", "/", nil).WithContext(ctx), err)
	if rec.Code != StatusClientClosed {
		t.Errorf("a request its client closed: %d, want %d", rec.Code, StatusClientClosed)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("POST", "/", nil), err)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("a cancellation while the client waits: %d, want 500", rec.Code)
	}
}

// TestDecodeJSON checks the kinds of error a JSON body gets: a body over
// the limit is too large whether or not it declares its length; text that
// is not UTF-8 is refused, not repaired.
func TestDecodeJSON(t *testing.T) {
	big := `{"name":"` + strings.Repeat("x", MaxJSONBody) + `"}`
	cases := []struct {
		name, body string
		chunked    bool
		kind       errs.Kind // errs.Other for none
		ctype      string    // application/json when empty
	}{
		{"valid", `{"name":"a"}`, false, errs.Other, ""},
		{"valid chunked", `{"name":"a"}`, true, errs.Other, ""},
		{"too large", big, false, errs.TooLarge, ""},
		{"too large chunked", big, true, errs.TooLarge, ""},
		{"truncated", `{"name":`, false, errs.Invalid, ""},
		{"truncated chunked", `{"name":`, true, errs.Invalid, ""},
		{"unknown field", `{"colour":"red"}`, false, errs.Invalid, ""},
		{"trailing data", `{"name":"a"} {}`, false, errs.Invalid, ""},
		{"trailing garbage", `{"name":"a"} ]`, false, errs.Invalid, ""},
		{"with a charset", `{"name":"a"}`, false, errs.Other, "application/json; charset=utf-8"},
		{"another type", `{"name":"a"}`, false, errs.Invalid, "application/jsonp"},
		{"invalid UTF-8 in a string", "{\"name\":\"a\xffb\"}", false, errs.Invalid, ""},
		{"invalid UTF-8 in a key", "{\"na\xc3me\":\"a\"}", false, errs.Invalid, ""},
		{"escaped lone surrogate", `{"name":"\ud800"}`, false, errs.Other, ""}, // valid JSON text; encoding/json decodes it as U+FFFD
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		if tc.ctype != "" {
			r.Header.Set("Content-Type", tc.ctype)
		}
		if tc.chunked {
			r.ContentLength = -1
		}
		var v struct {
			Name string `json:"name"`
		}
		err := DecodeJSON(r, &v)
		switch {
		case tc.kind == errs.Other && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.kind != errs.Other && !errs.Is(tc.kind, err):
			t.Errorf("%s: %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}
