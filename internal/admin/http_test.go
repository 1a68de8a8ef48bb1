package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/auth"
	"github.com/artstore/artstore/internal/sqldb"
)

// httpEnv is an admin service behind a real HTTP server, with an admin and
// a user service account.
type httpEnv struct {
	s                     *Service
	srv                   *httptest.Server
	adminID, adminSecret  string
	userID, userSecret    string
	adminToken, userToken string
}

func newHTTPEnv(t *testing.T, db *sqldb.DB) *httpEnv {
	t.Helper()
	ctx := context.Background()
	e := &httpEnv{s: openService(t, db)}
	r := chi.NewRouter()
	e.s.Routes(r, e.s.Verifier())
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)

	a, secret, err := e.s.CreateServiceAccount(ctx, "admin-client", artstore.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	e.adminID, e.adminSecret = a.ClientID, secret
	u, secret, err := e.s.CreateServiceAccount(ctx, "user-client", artstore.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	e.userID, e.userSecret = u.ClientID, secret
	e.adminToken = e.token(t, e.adminID, e.adminSecret)
	e.userToken = e.token(t, e.userID, e.userSecret)
	return e
}

func (e *httpEnv) token(t *testing.T, id, secret string) string {
	t.Helper()
	tok, err := e.s.IssueToken(context.Background(), id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// do sends a request and returns the response with its body read.
func (e *httpEnv) do(t *testing.T, method, path, contentType, body string, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func basic(id, secret string) http.Header {
	v := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return http.Header{"Authorization": {"Basic " + v}}
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestTokenEndpoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newHTTPEnv(t, db)
		id, secret := e.adminID, e.adminSecret
		jsonBody := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		cases := []struct {
			name        string
			contentType string
			body        string
			header      http.Header
			status      int
			oauthErr    string
		}{
			{"form", formType, form("grant_type", "client_credentials", "client_id", id, "client_secret", secret), nil, 200, ""},
			{"form with charset and scope", formType + "; charset=utf-8", form("grant_type", "client_credentials", "client_id", id, "client_secret", secret, "scope", "x"), nil, 200, ""},
			{"json", jsonType, jsonBody(map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}), nil, 200, ""},
			{"json without grant_type", jsonType, jsonBody(map[string]string{"client_id": id, "client_secret": secret}), nil, 200, ""},
			{"basic with form", formType, form("grant_type", "client_credentials"), basic(id, secret), 200, ""},
			{"basic with json", jsonType, `{}`, basic(id, secret), 200, ""},
			{"basic with matching client_id", formType, form("grant_type", "client_credentials", "client_id", id), basic(id, secret), 200, ""},

			{"wrong secret", formType, form("grant_type", "client_credentials", "client_id", id, "client_secret", e.userSecret), nil, 401, "invalid_client"},
			{"unknown client", jsonType, jsonBody(map[string]string{"client_id": "sa_ffffffffffffffffffffffffffffffff", "client_secret": secret}), nil, 401, "invalid_client"},
			{"wrong basic secret", formType, form("grant_type", "client_credentials"), basic(id, "nope"), 401, "invalid_client"},
			{"no credentials", formType, form("grant_type", "client_credentials"), nil, 401, "invalid_client"},

			{"unsupported grant", formType, form("grant_type", "password", "client_id", id, "client_secret", secret), nil, 400, "unsupported_grant_type"},
			{"unsupported grant in json", jsonType, jsonBody(map[string]string{"grant_type": "authorization_code", "client_id": id, "client_secret": secret}), nil, 400, "unsupported_grant_type"},
			{"form without grant_type", formType, form("client_id", id, "client_secret", secret), nil, 400, "invalid_request"},
			{"malformed json", jsonType, `{"client_id":`, nil, 400, "invalid_request"},
			{"json trailing data", jsonType, jsonBody(map[string]string{"client_id": id, "client_secret": secret}) + `{}`, nil, 400, "invalid_request"},
			{"json wrong type", jsonType, `{"client_id": 7}`, nil, 400, "invalid_request"},
			{"malformed form", formType, "client_id=%zz", nil, 400, "invalid_request"},
			{"repeated parameter", formType, form("grant_type", "client_credentials", "client_id", id, "client_id", id, "client_secret", secret), nil, 400, "invalid_request"},
			{"no content type", "", form("grant_type", "client_credentials", "client_id", id, "client_secret", secret), nil, 400, "invalid_request"},
			{"text body", "text/plain", "hello", nil, 400, "invalid_request"},
			{"two authentication methods", formType, form("grant_type", "client_credentials", "client_id", id, "client_secret", secret), basic(id, secret), 400, "invalid_request"},
			{"basic and other client_id", formType, form("grant_type", "client_credentials", "client_id", e.userID), basic(id, secret), 400, "invalid_request"},
			{"bearer instead of client auth", formType, form("grant_type", "client_credentials"), bearer(e.adminToken), 400, "invalid_request"},
			{"body over 64 KiB", formType, form("grant_type", "client_credentials", "client_id", id, "client_secret", secret, "pad", strings.Repeat("x", 70<<10)), nil, 400, "invalid_request"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				resp, body := e.do(t, "POST", "/api/v1/auth/token", c.contentType, c.body, c.header)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
				}
				if cc, p := resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"); cc != "no-store" || p != "no-cache" {
					t.Errorf("Cache-Control %q, Pragma %q", cc, p)
				}
				if strings.Contains(body, secret) {
					t.Errorf("response echoes the secret")
				}
				if c.status != 200 {
					var oe struct {
						Error string `json:"error"`
					}
					if err := json.Unmarshal([]byte(body), &oe); err != nil || oe.Error != c.oauthErr {
						t.Errorf("body %s, want error %q", body, c.oauthErr)
					}
					if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
					return
				}
				var tok Token
				if err := json.Unmarshal([]byte(body), &tok); err != nil {
					t.Fatal(err)
				}
				if tok.TokenType != "Bearer" || tok.ExpiresIn != 1800 || tok.AccessToken == "" {
					t.Errorf("token %+v", tok)
				}
				p, err := e.s.Verifier().Authenticate(context.Background(), tok.AccessToken)
				if err != nil || p.ClientID != id || p.Role != artstore.RoleAdmin {
					t.Errorf("issued token: %+v, %v", p, err)
				}
			})
		}
	})
}

// TestJWKSEndpoint checks the published key set, and that a verifier in
// another process, which knows only the JWKS URL, accepts issued tokens.
func TestJWKSEndpoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newHTTPEnv(t, db)
		resp, body := e.do(t, "GET", "/.well-known/jwks.json", "", "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
			t.Errorf("Cache-Control %q", cc)
		}
		var set JWKSet
		if err := json.Unmarshal([]byte(body), &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("%d keys, want 1", len(set.Keys))
		}
		k := set.Keys[0]
		pub := e.s.keys.signer().priv.PublicKey
		if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.Kid != e.s.keys.signer().kid {
			t.Errorf("key %+v", k)
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil || new(big.Int).SetBytes(n).Cmp(pub.N) != 0 {
			t.Errorf("n does not match the signing key (%v)", err)
		}
		if k.E != "AQAB" {
			t.Errorf("e = %q, want AQAB", k.E)
		}
		if strings.Contains(body, `"d"`) || strings.Contains(body, "PRIVATE") {
			t.Errorf("JWKS leaks private key material: %s", body)
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		keys, err := auth.RemoteJWKS(ctx, e.srv.URL+"/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		v := auth.NewVerifier(keys, testConfig.Issuer, testConfig.Audience)
		p, err := v.Authenticate(ctx, e.userToken)
		if err != nil || p.Role != artstore.RoleUser || p.Name != "user-client" {
			t.Fatalf("remote verifier: %+v, %v", p, err)
		}
		// The audience is checked: a verifier for another audience refuses.
		v = auth.NewVerifier(keys, testConfig.Issuer, "artstore")
		if _, err := v.Authenticate(ctx, e.userToken); err == nil {
			t.Errorf("token accepted for the wrong audience")
		}
	})
}

func TestCreateServiceAccountEndpoint(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		e := newHTTPEnv(t, db)
		cases := []struct {
			name   string
			body   string
			header http.Header
			status int
			code   string
		}{
			{"admin", `{"name":"reports","role":"readonly"}`, bearer(e.adminToken), 201, ""},
			{"auditor granted by an admin", `{"name":"watcher","role":"auditor"}`, bearer(e.adminToken), 403, "FORBIDDEN"},
			{"default role", `{"name":"uploader"}`, bearer(e.adminToken), 201, ""},
			{"duplicate", `{"name":"reports","role":"user"}`, bearer(e.adminToken), 409, "ALREADY_EXISTS"},
			{"invalid role", `{"name":"x","role":"root"}`, bearer(e.adminToken), 400, "INVALID_ARGUMENT"},
			{"empty name", `{"name":"  ","role":"user"}`, bearer(e.adminToken), 400, "INVALID_ARGUMENT"},
			{"long name", `{"name":"` + strings.Repeat("n", 101) + `"}`, bearer(e.adminToken), 400, "INVALID_ARGUMENT"},
			{"bad json", `{"name":`, bearer(e.adminToken), 400, "INVALID_ARGUMENT"},
			{"unknown field", `{"name":"y","secret":"mine"}`, bearer(e.adminToken), 400, "INVALID_ARGUMENT"},
			{"user role", `{"name":"sneaky","role":"admin"}`, bearer(e.userToken), 403, "FORBIDDEN"},
			{"no token", `{"name":"anon"}`, nil, 401, "UNAUTHENTICATED"},
			{"forged token", `{"name":"forged"}`, bearer(e.adminToken[:len(e.adminToken)-4] + "AAAA"), 401, "UNAUTHENTICATED"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				resp, body := e.do(t, "POST", "/api/v1/service-accounts", jsonType, c.body, c.header)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
				}
				if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 with WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
				}
				if c.status != 201 {
					var eb api.ErrorBody
					if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error.Code != c.code {
						t.Errorf("body %s, want code %s", body, c.code)
					}
					return
				}
				if resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("answer with a secret is cacheable")
				}
				var got struct {
					ID           string `json:"id"`
					Name         string `json:"name"`
					Role         string `json:"role"`
					ClientID     string `json:"client_id"`
					ClientSecret string `json:"client_secret"`
					Status       string `json:"status"`
					CreatedAt    string `json:"created_at"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatal(err)
				}
				if got.ID == "" || got.ClientID == "" || got.ClientSecret == "" || got.Status != "active" || got.CreatedAt == "" {
					t.Errorf("answer %s", body)
				}
				// The new credentials work over HTTP.
				resp, body = e.do(t, "POST", "/api/v1/auth/token", formType, form("grant_type", "client_credentials"), basic(got.ClientID, got.ClientSecret))
				if resp.StatusCode != 200 {
					t.Errorf("new credentials: %d %s", resp.StatusCode, body)
				}
			})
		}
	})
}
