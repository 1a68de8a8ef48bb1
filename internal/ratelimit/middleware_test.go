package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

// byClientHeader limits requests that carry X-Client, two per window.
func byClientHeader(r *http.Request) (string, int, bool) {
	c := r.Header.Get("X-Client")
	return "client:" + c, 2, c != ""
}

// served wraps a handler that counts the requests reaching it.
func served(store Store, log *slog.Logger) (http.Handler, *atomic.Int32) {
	var n atomic.Int32
	h := Middleware(store, byClientHeader, time.Minute, log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	return h, &n
}

func do(h http.Handler, client string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/files/x", nil)
	if client != "" {
		r.Header.Set("X-Client", client)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	clk := newClock()
	m := NewMemory()
	m.now = clk.Now
	h, reached := served(m, nil)
	reset := strconv.FormatInt(clk.Now().Add(time.Minute-250*time.Millisecond).Unix(), 10)

	for i, want := range []struct {
		status    int
		remaining string
	}{{204, "1"}, {204, "0"}, {429, "0"}} {
		w := do(h, "a")
		hdr := w.Result().Header
		if w.Code != want.status || hdr.Get("X-RateLimit-Limit") != "2" ||
			hdr.Get("X-RateLimit-Remaining") != want.remaining || hdr.Get("X-RateLimit-Reset") != reset {
			t.Fatalf("request %d: %d %v, want %d with limit 2, remaining %s, reset %s",
				i+1, w.Code, hdr, want.status, want.remaining, reset)
		}
		if allowed := want.status != 429; allowed != (hdr.Get("Retry-After") == "") {
			t.Fatalf("request %d: Retry-After %q", i+1, hdr.Get("Retry-After"))
		}
	}
	if n := reached.Load(); n != 2 {
		t.Fatalf("%d requests reached the handler, want 2", n)
	}

	w := do(h, "a")
	if got := w.Result().Header.Get("Retry-After"); got != "60" {
		t.Fatalf("Retry-After = %q, want 60 (59.75s rounded up)", got)
	}
	if ct := w.Result().Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var body api.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "RATE_LIMITED" || body.Error.Message == "" {
		t.Fatalf("body %s (%v), want the error envelope with code RATE_LIMITED", w.Body, err)
	}

	// Just before the reset the wait rounds up to one second, never zero.
	clk.Advance(time.Minute - 250*time.Millisecond - 100*time.Millisecond)
	if got := do(h, "a").Result().Header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After 100ms before the reset = %q, want 1", got)
	}
	clk.Advance(100 * time.Millisecond)
	if w := do(h, "a"); w.Code != 204 || w.Result().Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("after the reset: %d, remaining %q", w.Code, w.Result().Header.Get("X-RateLimit-Remaining"))
	}

	// Other clients have their own budget, and requests limitFor declines
	// are not governed at all.
	if w := do(h, "b"); w.Code != 204 || w.Result().Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("client b: %d, remaining %q", w.Code, w.Result().Header.Get("X-RateLimit-Remaining"))
	}
	for range 5 {
		if w := do(h, ""); w.Code != 204 || w.Result().Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("ungoverned request: %d %v", w.Code, w.Result().Header)
		}
	}
}

func TestMiddlewareFailsOpen(t *testing.T) {
	check := func(t *testing.T, store Store) {
		var logs bytes.Buffer
		h, reached := served(store, slog.New(slog.NewTextHandler(&logs, nil)))
		for range 3 {
			w := do(h, "a")
			if w.Code != 204 || w.Result().Header.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("with the store down: %d %v, want 204 without rate headers", w.Code, w.Result().Header)
			}
		}
		if n := reached.Load(); n != 3 {
			t.Fatalf("%d requests reached the handler, want 3", n)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "rate limiter unavailable") {
			t.Fatalf("no warning logged: %q", logs.String())
		}
	}
	t.Run("sqlite closed", func(t *testing.T) {
		db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "ratelimit.db"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSQL(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		check(t, s)
	})
	t.Run("redis stopped", func(t *testing.T) {
		srv := testenv.Redis(t)
		r := openRedis(t, srv.URL(), time.Now)
		srv.Stop()
		check(t, r)
	})
}

func TestPerCaller(t *testing.T) {
	limitFor := PerCaller(7)
	for _, tc := range []struct {
		name    string
		p       *artstore.Principal
		wantKey string
		wantOK  bool
	}{
		{"service account", &artstore.Principal{Subject: "sa-1", ClientID: "app"}, "client:app", true},
		{"admin user", &artstore.Principal{Subject: "u-1"}, "subject:u-1", true},
		{"anonymous", nil, "", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.p != nil {
			r = r.WithContext(artstore.WithPrincipal(r.Context(), *tc.p))
		}
		key, limit, ok := limitFor(r)
		if key != tc.wantKey || ok != tc.wantOK || (ok && limit != 7) {
			t.Errorf("%s: (%q, %d, %v), want (%q, 7, %v)", tc.name, key, limit, ok, tc.wantKey, tc.wantOK)
		}
	}
}

func TestHeaderRounding(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {59750 * time.Millisecond, 60}} {
		if got := retryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if got := resetSeconds(time.Unix(100, 0)); got != 100 {
		t.Errorf("resetSeconds of a whole second = %d, want 100", got)
	}
	if got := resetSeconds(time.Unix(100, 1)); got != 101 {
		t.Errorf("resetSeconds just past a second = %d, want 101", got)
	}
}
