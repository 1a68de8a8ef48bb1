package audit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/audit"
	"github.com/artstore/artstore/internal/errs"
)

// tokens is an Authenticator that knows a fixed set of bearer tokens.
type tokens map[string]artstore.Principal

func (ts tokens) Authenticate(_ context.Context, token string) (artstore.Principal, error) {
	p, ok := ts[token]
	if !ok {
		return artstore.Principal{}, errs.E("tokens.Authenticate", errs.Unauthenticated, errs.Msg("unknown token"))
	}
	return p, nil
}

var testTokens = tokens{
	"admin":    {Subject: "sa-admin", Role: artstore.RoleAdmin},
	"auditor":  {Subject: "sa-auditor", Role: artstore.RoleAuditor},
	"user":     {Subject: "sa-user", Role: artstore.RoleUser},
	"readonly": {Subject: "sa-ro", Role: artstore.RoleReadonly},
}

func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decoding body: %v", path, err)
	}
	return resp, body
}

func TestRoutes(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		db := openDB(t, dsn)
		l := openLog(t, db, testKey)
		recs := appendFixture(t, l)
		r := chi.NewRouter()
		l.Routes(r, testTokens, artstore.RoleAdmin, artstore.RoleAuditor)
		srv := httptest.NewServer(r)
		defer srv.Close()

		since := url.QueryEscape(recs[2].At.Format("2006-01-02T15:04:05.999999999Z07:00"))
		cases := []struct {
			name, path, token string
			status            int
			seqs              []int64 // for 200 from the list
		}{
			{"no token", "/api/v1/audit", "", 401, nil},
			{"unknown token", "/api/v1/audit", "forged", 401, nil},
			{"verify without token", "/api/v1/audit/verify", "", 401, nil},
			{"user role", "/api/v1/audit", "user", 403, nil},
			{"readonly role", "/api/v1/audit/verify", "readonly", 403, nil},
			{"admin", "/api/v1/audit", "admin", 200, []int64{6, 5, 4, 3, 2, 1}},
			{"auditor", "/api/v1/audit", "auditor", 200, []int64{6, 5, 4, 3, 2, 1}},
			{"filters", "/api/v1/audit?actor=alice&action=file.delete&target=f1&outcome=denied", "auditor", 200, []int64{3}},
			{"since", "/api/v1/audit?since=" + since, "auditor", 200, []int64{6, 5, 4, 3, 2}},
			{"until", "/api/v1/audit?until=" + since, "auditor", 200, []int64{1}},
			{"page", "/api/v1/audit?limit=2&offset=1", "auditor", 200, []int64{5, 4}},
			{"unknown parameter", "/api/v1/audit?actr=alice", "auditor", 400, nil},
			{"repeated parameter", "/api/v1/audit?actor=alice&actor=bob", "auditor", 400, nil},
			{"malformed query", "/api/v1/audit?actor=%zz", "auditor", 400, nil},
			{"bad limit", "/api/v1/audit?limit=0", "auditor", 400, nil},
			{"limit too large", "/api/v1/audit?limit=1001", "auditor", 400, nil},
			{"bad offset", "/api/v1/audit?offset=-1", "auditor", 400, nil},
			{"bad outcome", "/api/v1/audit?outcome=maybe", "auditor", 400, nil},
			{"bad since", "/api/v1/audit?since=yesterday", "auditor", 400, nil},
			{"date without time", "/api/v1/audit?until=2026-01-02", "auditor", 400, nil},
			{"until before since", "/api/v1/audit?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "auditor", 400, nil},
			{"verify with a parameter", "/api/v1/audit/verify?deep=1", "auditor", 400, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				resp, body := get(t, srv, c.path, c.token)
				if resp.StatusCode != c.status {
					t.Fatalf("GET %s = %d %s, want %d", c.path, resp.StatusCode, body, c.status)
				}
				if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
				if c.status != 200 {
					var eb api.ErrorBody
					if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code == "" {
						t.Errorf("error body %s is not the error envelope", body)
					}
					return
				}
				var p audit.Page
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatal(err)
				}
				if got := seqs(p.Items); !reflect.DeepEqual(got, c.seqs) {
					t.Errorf("GET %s listed %v, want %v", c.path, got, c.seqs)
				}
			})
		}

		// The wire shape of a page is the API's, in snake case.
		_, body := get(t, srv, "/api/v1/audit?limit=1&target=f1", "auditor")
		var raw map[string]any
		json.Unmarshal(body, &raw)
		for _, k := range []string{"items", "total", "limit", "offset", "has_more"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("page %s lacks %q", body, k)
			}
		}
		item := raw["items"].([]any)[0].(map[string]any)
		for _, k := range []string{"seq", "at", "actor", "actor_role", "action", "target", "source_addr", "request_id", "outcome", "detail", "mac"} {
			if _, ok := item[k]; !ok {
				t.Errorf("record %v lacks %q", item, k)
			}
		}

		_, body = get(t, srv, "/api/v1/audit/verify", "admin")
		if want := `{"ok":true,"checked":6,"first_broken":0,"problem":""}`; string(body) != want {
			t.Errorf("verify = %s, want %s", body, want)
		}
		exec(t, db, `DELETE FROM audit_records WHERE seq = 4`)
		resp, body := get(t, srv, "/api/v1/audit/verify", "auditor")
		var rep audit.Report
		json.Unmarshal(body, &rep)
		if resp.StatusCode != 200 || rep.OK || rep.FirstBroken != 4 {
			t.Errorf("verify after a deletion = %d %s, want 200 naming seq 4", resp.StatusCode, body)
		}
	})
}

// TestRoutesDefaultRoles checks that Routes without roles does not open the
// log to every authenticated caller.
func TestRoutesDefaultRoles(t *testing.T) {
	l := openLog(t, openDB(t, t.TempDir()+"/audit.db"), testKey)
	r := chi.NewRouter()
	l.Routes(r, testTokens)
	srv := httptest.NewServer(r)
	defer srv.Close()
	for token, want := range map[string]int{"admin": 200, "auditor": 200, "user": 403, "readonly": 403} {
		if resp, body := get(t, srv, "/api/v1/audit", token); resp.StatusCode != want {
			t.Errorf("%s: GET = %d %s, want %d", token, resp.StatusCode, body, want)
		}
	}
}

func TestFromRequest(t *testing.T) {
	cases := []struct {
		name, remote, header string
		wantAddr, wantID     string // "" for wantID: a new random id
	}{
		{"IPv4", "192.0.2.1:54321", "req-42", "192.0.2.1", "req-42"},
		{"IPv6", "[2001:db8::1]:443", "", "2001:db8::1", ""},
		{"no port", "192.0.2.9", "", "192.0.2.9", ""},
		{"uuid id", "192.0.2.1:1", "7f1c0a52-3f5e-4a52-9d3c-2b3f6a7e8d90", "192.0.2.1", "7f1c0a52-3f5e-4a52-9d3c-2b3f6a7e8d90"},
		{"base64 id", "192.0.2.1:1", "q1w2e3+/r4==", "192.0.2.1", "q1w2e3+/r4=="},
		{"id with spaces", "192.0.2.1:1", "hello world", "192.0.2.1", ""},
		{"id with a newline", "192.0.2.1:1", "a\nforged: line", "192.0.2.1", ""},
		{"id with non-ASCII", "192.0.2.1:1", "idé", "192.0.2.1", ""},
		{"longest id", "192.0.2.1:1", strings.Repeat("a", 128), "192.0.2.1", strings.Repeat("a", 128)},
		{"id too long", "192.0.2.1:1", strings.Repeat("a", 129), "192.0.2.1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			if c.header != "" {
				r.Header["X-Request-Id"] = []string{c.header}
			}
			addr, id := audit.FromRequest(r)
			if addr != c.wantAddr {
				t.Errorf("address = %q, want %q", addr, c.wantAddr)
			}
			if c.wantID != "" {
				if id != c.wantID {
					t.Errorf("request id = %q, want %q", id, c.wantID)
				}
				return
			}
			_, again := audit.FromRequest(r)
			if len(id) < 16 || id == c.header || id == again {
				t.Errorf("request id = %q then %q, want new random ids", id, again)
			}
		})
	}
}
