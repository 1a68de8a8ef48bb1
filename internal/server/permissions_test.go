package server_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
)

// principal is one kind of caller of the permission test.
type principal struct {
	name  string // e.g. "sa:auditor", "person:super_admin"
	role  string
	human bool
	token string
}

// allowed tells whether the table's group admits p.
func allowed(group string, p principal) bool {
	switch group {
	case "any":
		return true
	case "people":
		return p.human
	case "writers":
		return slices.Contains([]string{"admin", "user", "super_admin"}, p.role)
	case "admins":
		return slices.Contains([]string{"admin", "super_admin"}, p.role)
	case "auditors":
		return slices.Contains([]string{"auditor", "super_admin"}, p.role)
	case "super_admin":
		return p.role == "super_admin"
	}
	return false
}

// TestPermissionTable walks docs/security.md's table with a token of every
// principal kind and role, and checks that the table names every route.
func TestPermissionTable(t *testing.T) { bothDatabases(t, testPermissionTable) }

func testPermissionTable(t *testing.T, db func(*config.Config)) {
	c := testcluster.Start(t, db)
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (GET|POST|PUT|PATCH|DELETE|HEAD) \\| `([^`]+)` \\| ([a-z_]+) \\|$")
	type entry struct{ method, path, group string }
	var table []entry
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		table = append(table, entry{m[1], m[2], m[3]})
		documented[m[1]+" "+m[2]] = true
	}
	if len(table) < 40 {
		t.Fatalf("found only %d rows in the permission table", len(table))
	}
	// Every registered route is in the table.
	element := regexp.MustCompile(`^/elements/[^/{]+/`)
	chi.Walk(c.Server.Handler().(chi.Router), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = element.ReplaceAllString(strings.ReplaceAll(route, "/*/", "/"), "/elements/{element_id}/")
		if method != "CONNECT" && method != "OPTIONS" && method != "TRACE" && method != "QUERY" && !documented[method+" "+route] {
			t.Errorf("route %s %s is missing from the permission table", method, route)
		}
		return nil
	})

	// A token for every principal.
	root, rootPass := bootstrapAdmin(t, c)
	_, rootS := login(t, c, root, rootPass)
	people := []principal{{name: "person:super_admin", role: "super_admin", human: true}}
	for _, role := range []string{"admin", "readonly"} {
		pw := "Role-" + role + "-Pass-123"
		c.Do("POST", "/api/v1/admin-users", rootS.AccessToken, "application/json", jsonBody(map[string]string{
			"username": "p-" + role, "email": role + "@example.com", "password": pw, "role": role}), nil)
		people = append(people, principal{name: "person:" + role, role: role, human: true})
	}
	var all []principal
	for _, role := range []string{"admin", "user", "auditor", "readonly"} {
		all = append(all, principal{name: "sa:" + role, role: role, token: c.Account("perm-"+role, role)})
	}
	all = append(all, people...)
	fresh := func(p principal) string {
		if !p.human {
			return p.token
		}
		user, pw := "p-"+p.role, "Role-"+p.role+"-Pass-123"
		if p.role == "super_admin" {
			user, pw = root, rootPass
		}
		_, s := login(t, c, user, pw)
		return s.AccessToken
	}
	for i := range all {
		all[i].token = fresh(all[i])
	}
	// Logout revokes the token it is called with, so it goes last.
	sort.SliceStable(table, func(i, j int) bool {
		return !strings.HasSuffix(table[i].path, "/logout") && strings.HasSuffix(table[j].path, "/logout")
	})
	url := strings.NewReplacer("{element_id}", "edit-01", "{file_id}", "0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", "{id}", "00000000-0000-0000-0000-000000000000")
	for _, e := range table {
		path := url.Replace(e.path)
		if e.group == "public" {
			if r := c.Do(e.method, path, "", "", nil, nil); r.StatusCode == 401 || r.StatusCode == 403 || r.StatusCode >= 500 {
				t.Errorf("%s %s without a token: %d", e.method, e.path, r.StatusCode)
			}
			continue
		}
		if r := c.Do(e.method, path, "", "", nil, nil); r.StatusCode != 401 {
			t.Errorf("%s %s without a token: %d, want 401", e.method, e.path, r.StatusCode)
		}
		for _, p := range all {
			r := c.Do(e.method, path, p.token, "", nil, nil)
			if r.StatusCode >= 500 {
				// An empty body or an unknown id is bad input, never a
				// server error.
				t.Errorf("%s %s as %s: %d %s", e.method, e.path, p.name, r.StatusCode, r.Body)
			}
			if p.role == "super_admin" && (e.method == "POST" || e.method == "PUT" || e.method == "PATCH") {
				for _, body := range []string{`{"x":`, `[1,2]`, "\xff\xfe", strings.Repeat("a", 1<<20)} {
					if r := c.Do(e.method, path, p.token, "application/json", strings.NewReader(body), nil); r.StatusCode >= 500 {
						t.Errorf("%s %s with a bad body: %d %s", e.method, e.path, r.StatusCode, r.Body)
					}
				}
			}
			ok := allowed(e.group, p)
			switch {
			case ok && (r.StatusCode == 401 || r.StatusCode == 403):
				t.Errorf("%s %s as %s: %d, want it allowed (%s)", e.method, e.path, p.name, r.StatusCode, e.group)
			case !ok && r.StatusCode != 403:
				t.Errorf("%s %s as %s: %d, want 403 (%s)", e.method, e.path, p.name, r.StatusCode, e.group)
			}
		}
	}
}
