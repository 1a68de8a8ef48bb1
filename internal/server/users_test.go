package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
)

type session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

type adminUser struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	Role      string `json:"role"`
	Status    string `json:"status"`
	Bootstrap bool   `json:"bootstrap"`
}

func login(t *testing.T, c *testcluster.Cluster, user, password string) (*testcluster.Response, session) {
	t.Helper()
	r := c.Do("POST", "/api/v1/admin-auth/login", "", "application/json", jsonBody(map[string]string{"username": user, "password": password}), nil)
	var s session
	if r.StatusCode == 200 {
		r.JSON(t, &s)
	}
	return r, s
}

// bootstrapAdmin reads the bootstrap administrator's login.
func bootstrapAdmin(t *testing.T, c *testcluster.Cluster) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.DataDir, "bootstrap-admin.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(c.DataDir, "bootstrap-admin.json"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap-admin.json mode %v", st.Mode())
	}
	var v map[string]string
	json.Unmarshal(b, &v)
	return v["username"], v["password"]
}

// TestAdminUsers covers login, refresh, logout with revocation, the
// password policy and history, lockout, and user management with its
// protections.
func TestAdminUsers(t *testing.T) { bothDatabases(t, testAdminUsers) }

func testAdminUsers(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db)
	name, pass := bootstrapAdmin(t, c)
	r, root := login(t, c, name, pass)
	if r.StatusCode != 200 || root.AccessToken == "" || !strings.HasPrefix(root.RefreshToken, "rt_") {
		t.Fatalf("bootstrap login: %d %s", r.StatusCode, r.Body)
	}
	var me adminUser
	c.Do("GET", "/api/v1/admin-auth/me", root.AccessToken, "", nil, nil).JSON(t, &me)
	if me.Role != "super_admin" || !me.Bootstrap {
		t.Fatalf("me: %+v", me)
	}
	// A refresh token is not an access token.
	if r := c.Do("GET", "/api/v1/admin-auth/me", root.RefreshToken, "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("refresh token used as access token: %d", r.StatusCode)
	}
	// Create people; bad input is refused.
	good := "Correct-Horse-7-battery"
	for _, bad := range []struct {
		body map[string]string
		want int
	}{
		{map[string]string{"username": "ann", "email": "ann@example.com", "password": "short1A!", "role": "admin"}, 400},
		{map[string]string{"username": "ann", "email": "ann@example.com", "password": "alllowercaseletters", "role": "admin"}, 400},
		{map[string]string{"username": "ann", "email": "ann@example.com", "password": "Ann-Password-123", "role": "admin"}, 400},
		{map[string]string{"username": "ann", "email": "not an email", "password": good, "role": "admin"}, 400},
		{map[string]string{"username": "ann", "email": "ann@example.com", "password": good, "role": "emperor"}, 400},
		{map[string]string{"username": strings.Repeat("a", 65), "email": "ann@example.com", "password": good, "role": "admin"}, 400},
	} {
		if r := c.Do("POST", "/api/v1/admin-users", root.AccessToken, "application/json", jsonBody(bad.body), nil); r.StatusCode != bad.want {
			t.Errorf("create %v: %d %s", bad.body, r.StatusCode, r.Body)
		}
	}
	var ann adminUser
	r = c.Do("POST", "/api/v1/admin-users", root.AccessToken, "application/json", jsonBody(map[string]string{"username": "ann", "email": "ann@example.com", "password": good, "role": "admin"}), nil)
	if r.StatusCode != 201 {
		t.Fatalf("create ann: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(t, &ann)
	if r := c.Do("POST", "/api/v1/admin-users", root.AccessToken, "application/json", jsonBody(map[string]string{"username": "ann", "email": "ann@example.com", "password": good, "role": "admin"}), nil); r.StatusCode != 409 {
		t.Fatalf("duplicate user: %d", r.StatusCode)
	}
	_, annS := login(t, c, "ann", good)
	// An admin may look at users but not change them.
	var list struct{ Total int }
	c.Do("GET", "/api/v1/admin-users?q=ANN", annS.AccessToken, "", nil, nil).JSON(t, &list)
	if list.Total != 1 {
		t.Fatalf("list: %+v", list)
	}
	for _, query := range []string{"colour=red", "q=a&q=b"} {
		if r := c.Do("GET", "/api/v1/admin-users?"+query, annS.AccessToken, "", nil, nil); r.StatusCode != 400 {
			t.Fatalf("list users with %s: %d", query, r.StatusCode)
		}
	}
	if r := c.Do("POST", "/api/v1/admin-users", annS.AccessToken, "application/json", jsonBody(map[string]string{"username": "bob"}), nil); r.StatusCode != 403 {
		t.Fatalf("create by an admin: %d", r.StatusCode)
	}
	// Refresh: a new session; the old refresh token is spent.
	var next session
	r = c.Do("POST", "/api/v1/admin-auth/refresh", "", "application/json", jsonBody(map[string]string{"refresh_token": annS.RefreshToken}), nil)
	r.JSON(t, &next)
	if r.StatusCode != 200 || next.AccessToken == "" || next.RefreshToken == annS.RefreshToken {
		t.Fatalf("refresh: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/api/v1/admin-auth/refresh", "", "application/json", jsonBody(map[string]string{"refresh_token": annS.RefreshToken}), nil); r.StatusCode != 401 {
		t.Fatalf("spent refresh token: %d", r.StatusCode)
	}
	// Logout revokes the access token and the refresh token server-side.
	if r := c.Do("POST", "/api/v1/admin-auth/logout", next.AccessToken, "application/json", jsonBody(map[string]string{"refresh_token": next.RefreshToken}), nil); r.StatusCode != 204 {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/api/v1/admin-auth/me", next.AccessToken, "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("revoked access token: %d", r.StatusCode)
	}
	if r := c.Do("POST", "/api/v1/admin-auth/refresh", "", "application/json", jsonBody(map[string]string{"refresh_token": next.RefreshToken}), nil); r.StatusCode != 401 {
		t.Fatalf("revoked refresh token: %d", r.StatusCode)
	}
	// Password change: policy and the last five.
	_, annS = login(t, c, "ann", good)
	change := func(cur, nw string) int {
		return c.Do("POST", "/api/v1/admin-auth/change-password", annS.AccessToken, "application/json", jsonBody(map[string]string{"current_password": cur, "new_password": nw}), nil).StatusCode
	}
	if code := change("wrong", "Another-Good-Pass-1"); code != 403 {
		t.Fatalf("change with a wrong current password: %d", code)
	}
	if code := change(good, "weak"); code != 400 {
		t.Fatalf("change to a weak password: %d", code)
	}
	if code := change(good, good); code != 400 {
		t.Fatalf("change to the same password: %d", code)
	}
	if code := change(good, "Another-Good-Pass-1"); code != 204 {
		t.Fatalf("change: %d", code)
	}
	// Lockout after five failures, even for the right password; a reset lifts it.
	for i := 1; i <= 5; i++ {
		want := 401
		if i == 5 {
			want = 423 // the failure that locks the account says so
		}
		if r, _ := login(t, c, "ann", "Wrong-Password-99"); r.StatusCode != want {
			t.Fatalf("failed login %d: %d", i, r.StatusCode)
		}
	}
	if r, _ := login(t, c, "ann", "Another-Good-Pass-1"); r.StatusCode != 423 || errCode(t, r) != "ACCOUNT_LOCKED" {
		t.Fatalf("login while locked: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/api/v1/admin-users/"+ann.ID+"/reset-password", root.AccessToken, "application/json", jsonBody(map[string]string{"new_password": "Third-Good-Pass-22"}), nil); r.StatusCode != 204 {
		t.Fatalf("reset: %d %s", r.StatusCode, r.Body)
	}
	if r, _ := login(t, c, "ann", "Third-Good-Pass-22"); r.StatusCode != 200 {
		t.Fatalf("login after reset: %d", r.StatusCode)
	}
	// Protections.
	var boot adminUser
	c.Do("GET", "/api/v1/admin-auth/me", root.AccessToken, "", nil, nil).JSON(t, &boot)
	for _, body := range []map[string]string{{"role": "admin"}, {"status": "disabled"}} {
		if r := c.Do("PUT", "/api/v1/admin-users/"+boot.ID, root.AccessToken, "application/json", jsonBody(body), nil); r.StatusCode != 409 {
			t.Fatalf("demoting the bootstrap administrator %v: %d", body, r.StatusCode)
		}
	}
	if r := c.Do("DELETE", "/api/v1/admin-users/"+boot.ID, root.AccessToken, "", nil, nil); r.StatusCode != 409 {
		t.Fatalf("deleting the bootstrap administrator: %d", r.StatusCode)
	}
	c.Do("PUT", "/api/v1/admin-users/"+ann.ID, root.AccessToken, "application/json", jsonBody(map[string]string{"role": "super_admin"}), nil)
	_, annS = login(t, c, "ann", "Third-Good-Pass-22")
	if r := c.Do("DELETE", "/api/v1/admin-users/"+ann.ID, annS.AccessToken, "", nil, nil); r.StatusCode != 409 || errCode(t, r) != "SELF_DELETE" {
		t.Fatalf("deleting oneself: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("DELETE", "/api/v1/admin-users/"+ann.ID, root.AccessToken, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r, _ := login(t, c, "ann", "Third-Good-Pass-22"); r.StatusCode != 401 {
		t.Fatalf("login of a deleted user: %d", r.StatusCode)
	}
	// A service account has no password to change.
	if r := c.Do("POST", "/api/v1/admin-auth/change-password", c.AdminToken(), "application/json", jsonBody(map[string]string{"current_password": "x", "new_password": "y"}), nil); r.StatusCode != 403 {
		t.Fatalf("change-password by a service account: %d", r.StatusCode)
	}
}

// TestAdminSessionsEnd checks that what should end a person's access ends
// it at once: a new password, another role, disabling or deleting the
// user; and that attempts made at once, or through change-password, still
// count toward the lockout.
func TestAdminSessionsEnd(t *testing.T) { bothDatabases(t, testAdminSessionsEnd) }

func testAdminSessionsEnd(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db)
	name, pass := bootstrapAdmin(t, c)
	_, root := login(t, c, name, pass)
	good := "Correct-Horse-7-battery"
	create := func(user string) adminUser {
		var u adminUser
		r := c.Do("POST", "/api/v1/admin-users", root.AccessToken, "application/json", jsonBody(map[string]string{"username": user, "email": user + "@example.com", "password": good, "role": "admin"}), nil)
		if r.StatusCode != 201 {
			t.Fatalf("create %s: %d %s", user, r.StatusCode, r.Body)
		}
		r.JSON(t, &u)
		return u
	}
	works := func(s session) int {
		return c.Do("GET", "/api/v1/admin-auth/me", s.AccessToken, "", nil, nil).StatusCode
	}
	// Tokens carry their issue time in whole seconds: a session that began
	// in an earlier second than the password change ends with it.
	nextSecond := func() {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	}

	bob := create("bob")
	_, old := login(t, c, "bob", good)
	nextSecond()
	if r := c.Do("POST", "/api/v1/admin-users/"+bob.ID+"/reset-password", root.AccessToken, "application/json", jsonBody(map[string]string{"new_password": "Second-Good-Pass-2"}), nil); r.StatusCode != 204 {
		t.Fatalf("reset: %d %s", r.StatusCode, r.Body)
	}
	if code := works(old); code != 401 {
		t.Fatalf("access token from before a password reset: %d", code)
	}
	if r := c.Do("POST", "/api/v1/admin-auth/refresh", "", "application/json", jsonBody(map[string]string{"refresh_token": old.RefreshToken}), nil); r.StatusCode != 401 {
		t.Fatalf("refresh token from before a password reset: %d", r.StatusCode)
	}
	r, cur := login(t, c, "bob", "Second-Good-Pass-2")
	if r.StatusCode != 200 || works(cur) != 200 {
		t.Fatalf("session after the reset: %d", r.StatusCode)
	}
	// Another role, disabling, deleting: the token in hand stops at once.
	for _, step := range []struct{ method, body string }{
		{"PUT", `{"role":"readonly"}`}, {"PUT", `{"status":"disabled"}`}, {"DELETE", ""},
	} {
		var rd io.Reader
		if step.body != "" {
			rd = strings.NewReader(step.body)
		}
		if r := c.Do(step.method, "/api/v1/admin-users/"+bob.ID, root.AccessToken, "application/json", rd, nil); r.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", step.method, step.body, r.StatusCode, r.Body)
		}
		if code := works(cur); code != 401 {
			t.Fatalf("token after %s %s: %d", step.method, step.body, code)
		}
		if step.body == `{"role":"readonly"}` {
			// The new role holds in a new session.
			if r, s := login(t, c, "bob", "Second-Good-Pass-2"); r.StatusCode != 200 || works(s) != 200 ||
				c.Do("POST", "/api/v1/service-accounts", s.AccessToken, "application/json", jsonBody(map[string]string{"name": "x", "role": "user"}), nil).StatusCode != 403 {
				t.Fatalf("session with the new role: %d", r.StatusCode)
			}
			_, cur = login(t, c, "bob", "Second-Good-Pass-2")
		}
	}

	// Nine wrong passwords at once lock the account like five in a row.
	create("carl")
	var wg sync.WaitGroup
	codes := make([]int, 9)
	for i := range codes {
		wg.Go(func() {
			r, _ := login(t, c, "carl", fmt.Sprintf("Wrong-Password-%d", i))
			codes[i] = r.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != 401 && code != 423 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if r, _ := login(t, c, "carl", good); r.StatusCode != 423 {
		t.Fatalf("login after nine failures at once: %d (answers %v)", r.StatusCode, codes)
	}

	// Guessing the current password through change-password counts too.
	create("dave")
	_, dave := login(t, c, "dave", good)
	for i := 1; i <= 5; i++ {
		want := 403
		if i == 5 {
			want = 423
		}
		r := c.Do("POST", "/api/v1/admin-auth/change-password", dave.AccessToken, "application/json",
			jsonBody(map[string]string{"current_password": fmt.Sprintf("Guess-%d-Password!", i), "new_password": "Brand-New-Pass1!"}), nil)
		if r.StatusCode != want {
			t.Fatalf("wrong current password %d: %d", i, r.StatusCode)
		}
	}
	if r, _ := login(t, c, "dave", good); r.StatusCode != 423 {
		t.Fatalf("login after five wrong current passwords: %d", r.StatusCode)
	}
}
