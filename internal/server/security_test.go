package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testcluster"
	"github.com/artstore/artstore/internal/testenv"
)

// TestRateLimits: an account's requests per minute are enforced on
// authenticated routes, with the rate headers and a 429 beyond.
func TestRateLimits(t *testing.T) { bothDatabases(t, testRateLimits) }

func testRateLimits(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db)
	freshWindow()
	admin := c.AdminToken()
	var a account
	c.Do("POST", "/api/v1/service-accounts", admin, "application/json", jsonBody(map[string]any{"name": "slow", "role": "readonly", "rate_limit": 5}), nil).JSON(t, &a)
	tok := c.Token(a.ClientID, a.ClientSecret)
	for i := 1; i <= 6; i++ {
		r := c.Do("GET", "/api/v1/search?limit=1", tok, "", nil, nil)
		if i <= 5 {
			if r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "5" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(5-i) || r.Header.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("request %d: %d %v", i, r.StatusCode, r.Header)
			}
			continue
		}
		if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || errCode(t, r) != "RATE_LIMITED" {
			t.Fatalf("request over the limit: %d %v %s", r.StatusCode, r.Header, r.Body)
		}
	}
	// Other accounts are not affected.
	if r := c.Do("GET", "/api/v1/search?limit=1", admin, "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("another account: %d", r.StatusCode)
	}
}

// TestTokenGuard: after too many attempts for one client id, the token
// endpoint answers 429 before it looks at the secret.
func TestTokenGuard(t *testing.T) { bothDatabases(t, testTokenGuard) }

func testTokenGuard(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db, func(cfg *config.Config) { cfg.Auth.GuardPerClient, cfg.Auth.GuardPerSource = 10, 30 })
	var a account
	c.Do("POST", "/api/v1/service-accounts", c.AdminToken(), "application/json", jsonBody(map[string]any{"name": "target"}), nil).JSON(t, &a)
	freshWindow()
	for i := 0; i < 10; i++ {
		if code, _ := testcluster.Token(t, c.URL, a.ClientID, "guess-"+strconv.Itoa(i)); code != 401 {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	resp, err := http.PostForm(c.URL+"/api/v1/auth/token", map[string][]string{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("attempt over the limit, even with the right secret: %d %v", resp.StatusCode, resp.Header)
	}
}

type auditPage struct {
	Items []struct {
		Seq     int64  `json:"seq"`
		Actor   string `json:"actor"`
		Action  string `json:"action"`
		Target  string `json:"target"`
		Outcome string `json:"outcome"`
	} `json:"items"`
	Total int `json:"total"`
}

// TestAuditTrail: authentications, identity changes, key rotations, mode
// changes, deletes and finalizes are recorded; the chain verifies, and an
// edited row is found.
func TestAuditTrail(t *testing.T) { bothDatabases(t, testAuditTrail) }

func testAuditTrail(t *testing.T, dbOpt func(*config.Config)) {
	c := testcluster.Start(t, dbOpt)
	admin := c.AdminToken()
	testcluster.Token(t, c.URL, c.ClientID, "wrong")
	var a account
	c.Do("POST", "/api/v1/service-accounts", admin, "application/json", jsonBody(map[string]any{"name": "app"}), nil).JSON(t, &a)
	c.Do("POST", "/api/v1/service-accounts/"+a.ID+"/rotate-secret", admin, "", nil, nil)
	c.Do("POST", "/api/v1/keys/rotate", admin, "", nil, nil)
	f := mustFile(t, ingestUpload(t, c, admin, "a.txt", "a"), 201)
	g := mustFile(t, ingestUpload(t, c, admin, "b.txt", "b"), 201)
	c.Do("POST", "/api/v1/files/"+f.FileID+"/finalize", admin, "", nil, nil)
	c.Do("DELETE", "/api/v1/files/"+g.FileID, admin, "", nil, nil)
	c.Do("POST", "/elements/rw-01/api/v1/mode", admin, "application/json", strings.NewReader(`{"mode":"ro"}`), nil)
	name, pass := bootstrapAdmin(t, c)
	_, sess := login(t, c, name, pass)
	for _, rt := range []string{sess.RefreshToken, "rt_forged"} {
		c.Do("POST", "/api/v1/admin-auth/refresh", "", "application/json", jsonBody(map[string]string{"refresh_token": rt}), nil)
	}

	auditor := c.Account("watcher", "auditor")
	for _, want := range []struct{ action, outcome string }{
		{"auth.token", "failure"}, {"auth.token", "success"}, {"service_account.create", "success"},
		{"service_account.rotate_secret", "success"}, {"keys.rotate", "success"},
		{"file.finalize", "success"}, {"file.delete", "success"}, {"element.mode", "success"},
		{"auth.login", "success"}, {"auth.refresh", "success"}, {"auth.refresh", "failure"},
	} {
		var p auditPage
		r := c.Do("GET", "/api/v1/audit?action="+want.action+"&outcome="+want.outcome, auditor, "", nil, nil)
		r.JSON(t, &p)
		if r.StatusCode != 200 || p.Total == 0 || p.Items[0].Actor == "" {
			t.Errorf("no %s %s record: %d %s", want.outcome, want.action, r.StatusCode, r.Body)
		}
	}
	if r := c.Do("GET", "/api/v1/audit", c.Account("u", "user"), "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("audit read by a user: %d", r.StatusCode)
	}
	var rep struct {
		OK          bool  `json:"ok"`
		Checked     int64 `json:"checked"`
		FirstBroken int64 `json:"first_broken"`
	}
	c.Do("GET", "/api/v1/audit/verify", auditor, "", nil, nil).JSON(t, &rep)
	if !rep.OK || rep.Checked < 8 {
		t.Fatalf("verify: %+v", rep)
	}
	// Edit a record behind the log's back.
	db, err := sqldb.Open(context.Background(), c.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_records SET actor = 'intruder' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	c.Do("GET", "/api/v1/audit/verify", auditor, "", nil, nil).JSON(t, &rep)
	if rep.OK || rep.FirstBroken != 2 {
		t.Fatalf("verify after tampering: %+v", rep)
	}
}

// bothDatabases runs fn with a cluster option for SQLite (the default) and
// one for PostgreSQL (when ARTSTORE_TEST_POSTGRES is set), which then holds
// every database of the process.
func bothDatabases(t *testing.T, fn func(t *testing.T, db func(*config.Config))) {
	t.Run("sqlite", func(t *testing.T) { fn(t, func(*config.Config) {}) })
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.Postgres(t)
		fn(t, func(cfg *config.Config) { cfg.DatabaseURL = dsn })
	})
}

// freshWindow waits, when a minute (the limits' window) is about to turn,
// until it has, so that a test's requests fall into one window.
func freshWindow() {
	if s := time.Now().Second(); s >= 50 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}
