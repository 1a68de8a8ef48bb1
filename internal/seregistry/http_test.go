package seregistry_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
)

// auditLog records the events the registry reports.
type auditLog struct {
	mu     sync.Mutex
	events []string
}

func (a *auditLog) Event(_ *http.Request, action, target string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	a.events = append(a.events, action+" "+target+" "+outcome)
}

func (a *auditLog) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.events, "; ")
}

// adminServer serves a registry's API as the admin service would.
func adminServer(t *testing.T, r *seregistry.Registry) *httptest.Server {
	t.Helper()
	router := chi.NewRouter()
	r.Routes(router, tokenAuth{})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv
}

// call sends a request with an optional JSON body and returns the status
// and the decoded JSON answer (nil when there is none).
func call(t *testing.T, srv *httptest.Server, method, path, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not a JSON object", method, path, data)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// errCode returns the code of an error answer.
func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestHTTP(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		audit := &auditLog{}
		r := openRegistry(t, db, seregistry.Config{Auditor: audit})
		srv := adminServer(t, r)
		const base = "/api/v1/storage-elements"

		for _, c := range []struct {
			method, path, token string
			body                any
			status              int
			code                string
		}{
			// Authentication and roles.
			{"GET", base, "", nil, 401, "UNAUTHENTICATED"},
			{"GET", base, "forged", nil, 401, "UNAUTHENTICATED"},
			{"POST", base, readerToken, map[string]any{"url": f.edit.url()}, 403, "FORBIDDEN"},
			{"POST", base + "/discover", readerToken, map[string]any{"url": f.edit.url()}, 403, "FORBIDDEN"},
			{"POST", base + "/sync", readerToken, nil, 403, "FORBIDDEN"},
			{"GET", base, readerToken, nil, 200, ""},
			{"GET", base + "/summary", readerToken, nil, 200, ""},

			// Discover stores nothing.
			{"POST", base + "/discover", adminToken, map[string]any{"url": f.edit.url()}, 200, ""},
			{"POST", base + "/discover", adminToken, map[string]any{"url": "ftp://x"}, 400, "INVALID_ARGUMENT"},
			{"POST", base + "/discover", adminToken, map[string]any{"url": "http://127.0.0.1:1"}, 503, "ELEMENT_UNREACHABLE"},
			{"POST", base + "/discover", adminToken, map[string]any{"url": srv.URL}, 400, "NOT_AN_ELEMENT"},
			{"GET", base + "/se-edit", readerToken, nil, 404, "NOT_FOUND"},

			// Registration.
			{"POST", base, adminToken, map[string]any{"url": f.edit.url(), "name": "Edit", "priority": 4}, 201, ""},
			{"POST", base, adminToken, map[string]any{"url": f.edit.url()}, 409, "ALREADY_EXISTS"},
			{"POST", base, adminToken, map[string]any{"url": f.rw.url(), "priority": -1}, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, map[string]any{"url": f.rw.url(), "priority": 1.5}, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, map[string]any{"url": f.rw.url(), "name": strings.Repeat("n", 101)}, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, map[string]any{"url": f.rw.url(), "colour": "red"}, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, map[string]any{"url": "http://a:b@" + f.rw.addr}, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, `{"url":`, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, nil, 400, "INVALID_ARGUMENT"},
			{"POST", base, adminToken, map[string]any{"url": f.rw.url()}, 201, ""},

			// Reads.
			{"GET", base + "/se-edit", readerToken, nil, 200, ""},
			{"GET", base + "/se-none", readerToken, nil, 404, "NOT_FOUND"},
			{"GET", base + "?mode=edit&status=online&backend=memory&q=ed&limit=5&offset=0", readerToken, nil, 200, ""},
			{"GET", base + "?colour=red", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "?mode=edit&mode=rw", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "?mode=sealed", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "?limit=0", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "?offset=-1", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "?q=%00", readerToken, nil, 400, "INVALID_ARGUMENT"},
			{"GET", base + "/summary?x=1", readerToken, nil, 400, "INVALID_ARGUMENT"},

			// Updates.
			{"PUT", base + "/se-edit", readerToken, map[string]any{"name": "x"}, 403, "FORBIDDEN"},
			{"PUT", base + "/se-edit", adminToken, map[string]any{"name": "Scratch", "description": "tmp"}, 200, ""},
			{"PUT", base + "/se-edit", adminToken, map[string]any{"url": f.rw.url()}, 409, "ALREADY_EXISTS"},
			{"PUT", base + "/se-edit", adminToken, map[string]any{"url": f.big.url()}, 409, "ELEMENT_MISMATCH"},
			{"PUT", base + "/se-edit", adminToken, map[string]any{"priority": 2000000}, 400, "INVALID_ARGUMENT"},
			{"PUT", base + "/se-edit", adminToken, map[string]any{"url": "file:///x"}, 400, "INVALID_ARGUMENT"},
			{"PUT", base + "/se-none", adminToken, map[string]any{"name": "x"}, 404, "NOT_FOUND"},

			// Syncs.
			{"POST", base + "/se-edit/sync", adminToken, nil, 200, ""},
			{"POST", base + "/se-none/sync", adminToken, nil, 404, "NOT_FOUND"},
			{"POST", base + "/sync", adminToken, nil, 200, ""},

			// Deletes.
			{"DELETE", base + "/se-edit", readerToken, nil, 403, "FORBIDDEN"},
			{"DELETE", base + "/se-edit", adminToken, nil, 204, ""},
			{"DELETE", base + "/se-edit", adminToken, nil, 404, "NOT_FOUND"},
		} {
			status, body, _ := call(t, srv, c.method, c.path, c.token, c.body)
			if status != c.status || errCode(body) != c.code {
				t.Fatalf("%s %s (%s): %d %v, want %d %s", c.method, c.path, c.token, status, body, c.status, c.code)
			}
		}

		// The answers carry what they should.
		status, body, hdr := call(t, srv, "POST", base, adminToken, map[string]any{"url": f.big.url(), "description": "big"})
		if status != 201 || hdr.Get("Location") != base+"/se-big" || body["element_id"] != "se-big" || body["status"] != "online" {
			t.Fatalf("register: %d %v %v", status, hdr, body)
		}
		f.big.upload(1)
		if status, body, _ := call(t, srv, "DELETE", base+"/se-big", adminToken, nil); status != 409 || errCode(body) != "ELEMENT_NOT_EMPTY" {
			t.Fatalf("delete non-empty: %d %v", status, body)
		}
		status, body, _ = call(t, srv, "GET", base+"?mode=rw&limit=1", readerToken, nil)
		if status != 200 || body["total"] != float64(2) || body["limit"] != float64(1) || body["has_more"] != true || len(body["items"].([]any)) != 1 {
			t.Fatalf("list: %d %v", status, body)
		}
		status, body, _ = call(t, srv, "GET", base+"/summary", readerToken, nil)
		byMode, _ := body["by_mode"].(map[string]any)
		if status != 200 || body["elements"] != float64(2) || body["file_count"] != float64(1) || len(byMode) != 4 {
			t.Fatalf("summary: %d %v", status, body)
		}
		status, body, _ = call(t, srv, "POST", base+"/sync", adminToken, nil)
		if status != 200 || body["total"] != float64(2) {
			t.Fatalf("sync all: %d %v", status, body)
		}
		f.rw.stop()
		status, body, _ = call(t, srv, "POST", base+"/se-rw/sync", adminToken, nil)
		if status != 200 || body["status"] != "offline" || body["last_error"] == "" {
			t.Fatalf("sync of an offline element: %d %v", status, body)
		}

		want := "element.register se-edit ok; element.register " + f.edit.url() + " failed"
		if got := audit.String(); !strings.HasPrefix(got, want) || !strings.Contains(got, "element.unregister se-edit ok") {
			t.Fatalf("audit events: %s", got)
		}
	})
}

// TestSelfRegister registers a standalone element with the admin service
// over HTTP, as the element process does at start, repeatedly.
func TestSelfRegister(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		admin := adminServer(t, r)
		admins := api.StaticToken(adminToken)

		if err := seregistry.SelfRegister(ctx, admin.URL, admins, f.edit.url()); err != nil {
			t.Fatalf("SelfRegister: %v", err)
		}
		// Again, as after a restart at the same address.
		if err := seregistry.SelfRegister(ctx, admin.URL, admins, f.edit.url()); err != nil {
			t.Fatalf("repeated SelfRegister: %v", err)
		}
		// After a move to another address, the registration follows.
		moved := strings.Replace(f.edit.url(), "127.0.0.1", "localhost", 1)
		if err := seregistry.SelfRegister(ctx, admin.URL, admins, moved); err != nil {
			t.Fatalf("SelfRegister after a move: %v", err)
		}
		if e, err := r.Get(ctx, "se-edit"); err != nil || e.URL != moved {
			t.Fatalf("entry after the move: %+v, %v", e, err)
		}
		if p, _ := r.List(ctx, seregistry.Filter{}); p.Total != 1 {
			t.Fatalf("%d entries after self-registrations", p.Total)
		}

		// Another element now serving an address registered to an earlier
		// one is refused, not merged.
		f.rw.stop()
		f.edit.stop()
		f.rw.serve(f.edit.addr)
		err := seregistry.SelfRegister(ctx, admin.URL, admins, moved)
		wantKind(t, err, errs.Exist, "")

		wantKind(t, seregistry.SelfRegister(ctx, admin.URL, api.StaticToken(readerToken), f.big.url()), errs.Permission, "")
		wantKind(t, seregistry.SelfRegister(ctx, "ftp://admin", admins, f.big.url()), errs.Invalid, "")
		wantKind(t, seregistry.SelfRegister(ctx, admin.URL, admins, "not a url"), errs.Invalid, "")
		wantKind(t, seregistry.SelfRegister(ctx, "http://127.0.0.1:1", admins, f.big.url()), errs.Unavailable, "")
	})
}
