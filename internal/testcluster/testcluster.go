// Package testcluster starts a whole ArtStore system inside one test: the
// real server, configured as `artstore serve` would configure it, behind a
// real HTTP listener, with helpers to obtain tokens and make requests.
package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/artstore/artstore/internal/admin"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/server"
)

// Cluster is a running system.
type Cluster struct {
	URL     string
	DataDir string
	Server  *server.Server
	Config  config.Config
	// The bootstrap admin service account.
	ClientID, ClientSecret string

	superMu    sync.Mutex
	superToken string // the bootstrap administrator's, once logged in

	t   testing.TB
	hts *httptest.Server
	log *slog.Logger
	mu  sync.RWMutex
}

// Restart closes the server, as a crash between two durable steps would
// leave it, and opens it again on the same data directory and address.
func (c *Cluster) Restart() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Server.Close()
	srv, err := server.Open(context.Background(), c.Config, c.log)
	if err != nil {
		c.t.Fatal(err)
	}
	c.Server = srv
}

// Start starts a system with the default configuration in a temporary data
// directory; opts may change the configuration first.
func Start(t testing.TB, opts ...func(*config.Config)) *Cluster {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "warn"
	// Tests ask for many tokens from one address; the guard's own test
	// sets the limits back.
	cfg.Auth.GuardPerClient, cfg.Auth.GuardPerSource = 100000, 100000
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{DataDir: cfg.DataDir, Server: srv, Config: cfg, t: t, log: log}
	c.hts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.RLock()
		h := c.Server.Handler()
		c.mu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	c.hts.Start()
	c.URL = c.hts.URL
	t.Cleanup(func() {
		c.hts.Close()
		c.Server.Close()
	})
	c.ClientID, c.ClientSecret = Credentials(t, cfg.DataDir)
	return c
}

// Credentials returns the client id and secret of the bootstrap service
// account that a server wrote into its data directory.
func Credentials(t testing.TB, dataDir string) (clientID, secret string) {
	t.Helper()
	var creds admin.BootstrapCredentials
	b, err := os.ReadFile(filepath.Join(dataDir, admin.BootstrapFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		t.Fatal(err)
	}
	return creds.ClientID, creds.ClientSecret
}

// Token obtains an access token for a service account.
func (c *Cluster) Token(clientID, secret string) string {
	c.t.Helper()
	status, tok := Token(c.t, c.URL, clientID, secret)
	if status != 200 || tok == "" {
		c.t.Fatalf("token request: %d", status)
	}
	return tok
}

// Token asks the server at baseURL for a token with client credentials and
// returns the status of the answer and the token it holds ("" if none).
func Token(t testing.TB, baseURL, clientID, secret string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(baseURL+"/api/v1/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	return resp.StatusCode, tok.AccessToken
}

// AdminToken returns a token of the bootstrap admin account.
func (c *Cluster) AdminToken() string { return c.Token(c.ClientID, c.ClientSecret) }

// SuperAdminToken returns an access token of the bootstrap system
// administrator (role super_admin), logging in the first time only.
func (c *Cluster) SuperAdminToken() string {
	c.t.Helper()
	c.superMu.Lock()
	defer c.superMu.Unlock()
	if c.superToken != "" {
		return c.superToken
	}
	b, err := os.ReadFile(filepath.Join(c.DataDir, admin.BootstrapAdminFile))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.Post(c.URL+"/api/v1/admin-auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 || s.AccessToken == "" {
		c.t.Fatalf("bootstrap administrator's login: %d %v", resp.StatusCode, err)
	}
	c.superToken = s.AccessToken
	return c.superToken
}

// Account creates a service account with role and returns a token for it.
// Its rate limit is high enough not to get in a test's way.
func (c *Cluster) Account(name, role string) string {
	c.t.Helper()
	creator := c.AdminToken()
	if role == "auditor" {
		creator = c.SuperAdminToken() // an admin may not grant it
	}
	resp := c.Do("POST", "/api/v1/service-accounts", creator, "application/json",
		strings.NewReader(`{"name":"`+name+`","role":"`+role+`","rate_limit":1000000}`), nil)
	var sa struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(resp.Body, &sa) != nil {
		c.t.Fatalf("creating account %s: %d %s", name, resp.StatusCode, resp.Body)
	}
	return c.Token(sa.ClientID, sa.ClientSecret)
}

// Response is a finished response with its whole body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.Body, err)
	}
}

// Do sends a request and reads the whole answer.
func (c *Cluster) Do(method, path, token, contentType string, body io.Reader, hdr http.Header) *Response {
	c.t.Helper()
	return Do(c.t, method, c.URL+path, token, contentType, body, hdr)
}

// Do sends a request to url with a bearer token (when not empty) and
// reads the whole answer.
func Do(t testing.TB, method, url, token, contentType string, body io.Reader, hdr http.Header) *Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}
}

// Form builds a multipart body: fields in order, then the file part.
func Form(fields [][2]string, filename, content string) (contentType string, body *bytes.Buffer) {
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if filename != "" {
		w, _ := mw.CreateFormFile("file", filename)
		io.WriteString(w, content)
	}
	mw.Close()
	return mw.FormDataContentType(), body
}
