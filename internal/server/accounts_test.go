package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
)

type account struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	Description         string     `json:"description"`
	Role                string     `json:"role"`
	ClientID            string     `json:"client_id"`
	ClientSecret        string     `json:"client_secret"`
	Status              string     `json:"status"`
	RateLimit           int        `json:"rate_limit"`
	SecretExpiresAt     *time.Time `json:"secret_expires_at"`
	SecretExpiresInDays *int       `json:"secret_expires_in_days"`
}

func jsonBody(v any) *strings.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

// TestServiceAccountLifecycle walks an account through create, list,
// update, suspension, secret rotation and deletion.
func TestServiceAccountLifecycle(t *testing.T) { bothDatabases(t, testServiceAccountLifecycle) }

func testServiceAccountLifecycle(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db)
	admin := c.AdminToken()
	do := func(method, path string, body any) *testcluster.Response {
		var r *strings.Reader
		if body != nil {
			r = jsonBody(body)
			return c.Do(method, path, admin, "application/json", r, nil)
		}
		return c.Do(method, path, admin, "", nil, nil)
	}
	var a account
	r := do("POST", "/api/v1/service-accounts", map[string]any{"name": "billing", "description": "Billing system", "role": "user", "rate_limit": 250})
	if r.StatusCode != 201 {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(t, &a)
	if a.ClientSecret == "" || a.RateLimit != 250 || a.Status != "active" || a.SecretExpiresAt == nil ||
		a.SecretExpiresInDays == nil || *a.SecretExpiresInDays < 89 || *a.SecretExpiresInDays > 90 {
		t.Fatalf("created %+v", a)
	}
	do("POST", "/api/v1/service-accounts", map[string]any{"name": "reports", "role": "readonly"})
	bad := []struct {
		name string
		body any
		want int
	}{
		{"duplicate name", map[string]any{"name": "billing"}, 409},
		{"invalid role", map[string]any{"name": "x", "role": "root"}, 400},
		{"long name", map[string]any{"name": strings.Repeat("n", 101)}, 400},
		{"long description", map[string]any{"name": "y", "description": strings.Repeat("d", 1001)}, 400},
		{"zero rate", map[string]any{"name": "z", "rate_limit": -5}, 400},
		{"unknown field", map[string]any{"name": "w", "colour": "red"}, 400},
	}
	for _, b := range bad {
		if r := do("POST", "/api/v1/service-accounts", b.body); r.StatusCode != b.want {
			t.Errorf("%s: %d, want %d: %s", b.name, r.StatusCode, b.want, r.Body)
		}
	}
	var list struct {
		Items []account
		Total int
	}
	do("GET", "/api/v1/service-accounts?role=user&q=BILL", nil).JSON(t, &list)
	if list.Total != 1 || list.Items[0].ID != a.ID || list.Items[0].ClientSecret != "" {
		t.Fatalf("list: %+v", list)
	}
	for _, query := range []string{"status=frozen", "colour=red", "role=user&role=admin", "q=%zz"} {
		if r := do("GET", "/api/v1/service-accounts?"+query, nil); r.StatusCode != 400 {
			t.Fatalf("list with %s: %d", query, r.StatusCode)
		}
	}
	// An id no account can have is the caller's error, not the database's.
	for _, id := range []string{"%00", "%FF"} {
		if r := do("GET", "/api/v1/service-accounts/"+id, nil); r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Fatalf("account %s: %d", id, r.StatusCode)
		}
	}
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 200 {
		t.Fatalf("token: %d", code)
	}

	// Suspension stops tokens; reactivation restores them.
	var got account
	do("PUT", "/api/v1/service-accounts/"+a.ID, map[string]any{"status": "suspended", "rate_limit": 10, "name": "billing-v2"}).JSON(t, &got)
	if got.Status != "suspended" || got.RateLimit != 10 || got.Name != "billing-v2" {
		t.Fatalf("update: %+v", got)
	}
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 401 {
		t.Fatalf("token of a suspended account: %d", code)
	}
	do("PUT", "/api/v1/service-accounts/"+a.ID, map[string]any{"status": "active"})
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 200 {
		t.Fatalf("token after reactivation: %d", code)
	}

	// Rotation: the new secret works, the old one no longer.
	var rot account
	r = do("POST", "/api/v1/service-accounts/"+a.ID+"/rotate-secret", nil)
	r.JSON(t, &rot)
	if r.StatusCode != 200 || rot.ClientSecret == "" || rot.ClientSecret == a.ClientSecret || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %+v", r.StatusCode, rot)
	}
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 401 {
		t.Fatalf("old secret after rotation: %d", code)
	}
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, rot.ClientSecret); code != 200 {
		t.Fatalf("new secret: %d", code)
	}

	// The bootstrap account is protected.
	var boot struct{ Items []account }
	do("GET", "/api/v1/service-accounts?role=admin", nil).JSON(t, &boot)
	if len(boot.Items) != 1 {
		t.Fatalf("admin accounts: %+v", boot)
	}
	if r := do("DELETE", "/api/v1/service-accounts/"+boot.Items[0].ID, nil); r.StatusCode != 409 {
		t.Fatalf("delete of the bootstrap account: %d", r.StatusCode)
	}
	if r := do("PUT", "/api/v1/service-accounts/"+boot.Items[0].ID, map[string]any{"role": "user"}); r.StatusCode != 409 {
		t.Fatalf("demotion of the bootstrap account: %d", r.StatusCode)
	}
	if r := do("PUT", "/api/v1/service-accounts/"+boot.Items[0].ID, map[string]any{"rate_limit": 1}); r.StatusCode != 409 {
		t.Fatalf("throttling the bootstrap account: %d", r.StatusCode)
	}
	// An admin may not make an account an auditor, which reads the audit
	// log that admins may not; the system administrator may.
	if r := do("PUT", "/api/v1/service-accounts/"+a.ID, map[string]any{"role": "auditor"}); r.StatusCode != 403 {
		t.Fatalf("auditor role granted by an admin: %d", r.StatusCode)
	}
	if r := c.Do("PUT", "/api/v1/service-accounts/"+a.ID, c.SuperAdminToken(), "application/json", jsonBody(map[string]any{"role": "auditor"}), nil); r.StatusCode != 200 {
		t.Fatalf("auditor role granted by the system administrator: %d %s", r.StatusCode, r.Body)
	}

	// Deletion: no more tokens, the name is free, rotation is refused.
	if r := do("DELETE", "/api/v1/service-accounts/"+a.ID, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, rot.ClientSecret); code != 401 {
		t.Fatalf("token of a deleted account: %d", code)
	}
	for _, req := range [][2]string{{"POST", "/rotate-secret"}, {"DELETE", ""}, {"PUT", ""}} {
		var body any
		if req[0] == "PUT" {
			body = map[string]any{"description": "x"}
		}
		if r := do(req[0], "/api/v1/service-accounts/"+a.ID+req[1], body); r.StatusCode != 404 {
			t.Fatalf("%s%s of a deleted account: %d", req[0], req[1], r.StatusCode)
		}
	}
	do("GET", "/api/v1/service-accounts?status=deleted", nil).JSON(t, &list)
	if list.Total != 1 || list.Items[0].Status != "deleted" {
		t.Fatalf("deleted accounts: %+v", list)
	}
	if r := do("POST", "/api/v1/service-accounts", map[string]any{"name": "billing-v2"}); r.StatusCode != 201 {
		t.Fatalf("reusing a deleted account's name: %d", r.StatusCode)
	}
	// Only admins manage accounts.
	user := c.Account("someone", "user")
	if r := c.Do("GET", "/api/v1/service-accounts", user, "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("list by a user: %d", r.StatusCode)
	}
}

// TestSecretExpiry: an expired secret obtains no token, a rotated one does.
func TestSecretExpiry(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) { cfg.Auth.SecretTTL = config.Duration(time.Second) })
	admin := c.AdminToken()
	var a account
	c.Do("POST", "/api/v1/service-accounts", admin, "application/json", jsonBody(map[string]any{"name": "short"}), nil).JSON(t, &a)
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 200 {
		t.Fatalf("fresh secret: %d", code)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, a.ClientSecret); code != 401 {
		t.Fatalf("expired secret: %d", code)
	}
	var got account
	c.Do("GET", "/api/v1/service-accounts/"+a.ID, admin, "", nil, nil).JSON(t, &got)
	if got.SecretExpiresInDays == nil || *got.SecretExpiresInDays >= 0 {
		t.Fatalf("time left of an expired secret: %+v", got.SecretExpiresInDays)
	}
	var rot account
	c.Do("POST", "/api/v1/service-accounts/"+a.ID+"/rotate-secret", admin, "", nil, nil).JSON(t, &rot)
	if code, _ := testcluster.Token(t, c.URL, a.ClientID, rot.ClientSecret); code != 200 {
		t.Fatalf("rotated secret: %d", code)
	}
	// The bootstrap account's secret never expires.
	if code, _ := testcluster.Token(t, c.URL, c.ClientID, c.ClientSecret); code != 200 {
		t.Fatalf("bootstrap secret: %d", code)
	}
}

// TestKeyRotationUnderLoad rotates the signing key while clients keep
// calling the API with tokens obtained before and after: none gets a 401.
func TestKeyRotationUnderLoad(t *testing.T) {
	c := testcluster.Start(t)
	admin := c.AdminToken()
	var stop atomic.Bool
	var calls, unauthorized atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := c.AdminToken()
			for n := 0; !stop.Load(); n++ {
				if n%20 == 0 {
					tok = c.AdminToken() // a fresh token, perhaps from the new key
				}
				req, _ := http.NewRequest("GET", c.URL+"/api/v1/search?limit=1", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				calls.Add(1)
				if resp.StatusCode == 401 {
					unauthorized.Add(1)
				}
			}
		}()
	}
	kids := map[string]bool{}
	for i := 0; i < 3; i++ {
		time.Sleep(150 * time.Millisecond)
		var rot struct {
			KID      string   `json:"kid"`
			Previous []string `json:"previous"`
		}
		r := c.Do("POST", "/api/v1/keys/rotate", admin, "", nil, nil)
		r.JSON(t, &rot)
		if r.StatusCode != 200 || rot.KID == "" || len(rot.Previous) == 0 || kids[rot.KID] {
			t.Fatalf("rotation: %d %s", r.StatusCode, r.Body)
		}
		kids[rot.KID] = true
	}
	time.Sleep(150 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if calls.Load() < 50 || unauthorized.Load() != 0 {
		t.Fatalf("%d calls, %d unauthorized", calls.Load(), unauthorized.Load())
	}
	var jwks struct{ Keys []struct{ Kid string } }
	c.Do("GET", "/.well-known/jwks.json", "", "", nil, nil).JSON(t, &jwks)
	if len(jwks.Keys) != 4 {
		t.Fatalf("JWKS publishes %d keys, want the current one and the three replaced ones still in use", len(jwks.Keys))
	}
	if r := c.Do("POST", "/api/v1/keys/rotate", c.Account("u", "user"), "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("rotation by a user: %d", r.StatusCode)
	}
}

// TestBootstrapClientID: the bootstrap account's client id can be fixed by
// configuration, so split deployments are provisioned with a known id.
func TestBootstrapClientID(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) { cfg.Auth.BootstrapClientID = "sa_provisioned-01" })
	if c.ClientID != "sa_provisioned-01" {
		t.Fatalf("bootstrap client id %q", c.ClientID)
	}
	if code, _ := testcluster.Token(t, c.URL, c.ClientID, c.ClientSecret); code != 200 {
		t.Fatalf("token of the fixed id: %d", code)
	}
}
