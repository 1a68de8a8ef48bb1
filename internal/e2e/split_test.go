package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/testcluster"
	"github.com/artstore/artstore/internal/testenv"
)

type fileMeta struct {
	FileID           string            `json:"file_id"`
	OriginalFilename string            `json:"original_filename"`
	Size             int64             `json:"size"`
	Checksum         string            `json:"checksum"`
	UploadedBy       string            `json:"uploaded_by"`
	StorageElementID string            `json:"storage_element_id"`
	RetentionPolicy  string            `json:"retention_policy"`
	Tags             []string          `json:"tags"`
	Metadata         map[string]string `json:"metadata"`
}

// call sends a request and decodes a JSON answer into out.
func (p *proc) call(method, path, token, contentType string, body io.Reader, out any) int {
	p.t.Helper()
	r := testcluster.Do(p.t, method, p.url+path, token, contentType, body, nil)
	if out != nil {
		json.Unmarshal(r.Body, out)
	}
	return r.StatusCode
}

// ingest uploads content through the public upload API.
func (p *proc) ingest(token, name, content string, fields ...[2]string) (fileMeta, int) {
	ct, body := testcluster.Form(fields, name, content)
	var f fileMeta
	code := p.call("POST", "/api/v1/files/upload", token, ct, body, &f)
	return f, code
}

// account creates a service account on an admin process and returns a
// token for it and its id.
func (p *proc) account(adminToken, name, role string) (string, string) {
	p.t.Helper()
	var sa struct {
		ID, ClientID, ClientSecret string
	}
	var raw map[string]string
	code := p.call("POST", "/api/v1/service-accounts", adminToken, "application/json",
		strings.NewReader(`{"name":"`+name+`","role":"`+role+`","rate_limit":1000000}`), &raw)
	if code != 201 {
		p.t.Fatalf("creating %s: %d", name, code)
	}
	sa.ID, sa.ClientID, sa.ClientSecret = raw["id"], raw["client_id"], raw["client_secret"]
	_, tok := testcluster.Token(p.t, p.url, sa.ClientID, sa.ClientSecret)
	return tok, sa.ID
}

// splitEnv is what a process without the admin role needs to reach one.
func splitEnv(admin *proc) []string {
	id, secret := testcluster.Credentials(admin.t, admin.data)
	return []string{
		"ARTSTORE_TOKEN_URL=" + admin.url + "/api/v1/auth/token",
		"ARTSTORE_CLIENT_ID=" + id,
		"ARTSTORE_CLIENT_SECRET=" + secret,
	}
}

func remoteElements(admin *proc) []string {
	return []string{"--jwks-url", admin.url + "/.well-known/jwks.json",
		"--element", "id=edit-01,url=" + admin.url + "/elements/edit-01",
		"--element", "id=rw-01,url=" + admin.url + "/elements/rw-01"}
}

// TestSplitProcesses runs admin and storage in one process and ingest and
// query in another, over loopback.
func TestSplitProcesses(t *testing.T) {
	core := start(t, t.TempDir(), "--roles", "admin,storage")
	front := startWith(t, t.TempDir(), freeAddr(t), splitEnv(core),
		append([]string{"--roles", "ingest,query"}, remoteElements(core)...)...)
	admin := core.token()
	user, userID := core.account(admin, "app", "user")

	temp, code := front.ingest(user, "notes.txt", "split notes", [2]string{"tags", `["split"]`})
	if code != 201 || temp.StorageElementID != "edit-01" || temp.UploadedBy != userID {
		t.Fatalf("temporary upload through the front: %d %+v (user %s)", code, temp, userID)
	}
	perm, code := front.ingest(user, "keep.txt", "keep me", [2]string{"retention_policy", "permanent"}, [2]string{"tags", `["split"]`})
	if code != 201 || perm.StorageElementID != "rw-01" {
		t.Fatalf("permanent upload through the front: %d %+v", code, perm)
	}
	// The element in the core process holds them.
	var onCore fileMeta
	if code := core.call("GET", "/elements/rw-01/api/v1/files/"+perm.FileID, admin, "", nil, &onCore); code != 200 || onCore.Checksum != perm.Checksum {
		t.Fatalf("on the element: %d %+v", code, onCore)
	}
	// An upload straight to the element reaches the front's catalog over
	// the journal feed.
	var direct fileMeta
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("tags", `["split"]`)
	fw, _ := mw.CreateFormFile("file", "direct.txt")
	io.WriteString(fw, "direct")
	mw.Close()
	if code := core.call("POST", "/elements/edit-01/api/v1/files", user, mw.FormDataContentType(), &buf, &direct); code != 201 {
		t.Fatalf("direct upload: %d", code)
	}
	testenv.Eventually(t, 10*time.Second, "the front to see three files", func() bool {
		var res struct{ Total int }
		front.call("GET", "/api/v1/search?tags=split", user, "", nil, &res)
		return res.Total == 3
	})
	req, _ := http.NewRequest("GET", front.url+"/api/v1/files/"+perm.FileID+"/download", nil)
	req.Header.Set("Authorization", "Bearer "+user)
	req.Header.Set("Range", "bytes=0-3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(b) != "keep" {
		t.Fatalf("ranged download through the front: %d %q", resp.StatusCode, b)
	}
	if code := front.call("DELETE", "/api/v1/files/"+temp.FileID, user, "", nil, nil); code != 204 {
		t.Fatalf("delete through the front: %d", code)
	}
	// After a key rotation on the core, the front verifies tokens signed
	// by the new key (it fetches the JWKS again) and by the old one.
	var rot struct{ KID string }
	if code := core.call("POST", "/api/v1/keys/rotate", admin, "", nil, &rot); code != 200 || rot.KID == "" {
		t.Fatalf("rotate: %d", code)
	}
	fresh, _ := core.account(admin, "after-rotation", "readonly")
	for _, tok := range []string{fresh, user} {
		if code := front.call("GET", "/api/v1/search?limit=1", tok, "", nil, nil); code != 200 {
			t.Fatalf("search through the front after a rotation: %d", code)
		}
	}
	if code := core.call("GET", "/elements/edit-01/api/v1/files/"+temp.FileID, admin, "", nil, nil); code != 404 {
		t.Fatalf("deleted file still on the element: %d", code)
	}
}

// TestChaos uploads 1,000 files while the query process is killed and
// restarted and Redis is stopped and started. Afterwards the query
// process's index holds all of them with the right metadata, and
// reconciliation finds nothing to repair.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	redis := testenv.Redis(t)
	env := []string{"ARTSTORE_REDIS_URL=" + redis.URL()}
	core := startWith(t, t.TempDir(), freeAddr(t), env, "--roles", "admin,storage,ingest")
	queryDir, queryAddr := t.TempDir(), freeAddr(t)
	queryEnv := append(append([]string{}, env...), splitEnv(core)...)
	queryEnv = append(queryEnv, "ARTSTORE_BUS_CONSUMER=query-1")
	queryArgs := append([]string{"--roles", "query"}, remoteElements(core)...)
	q := startWith(t, queryDir, queryAddr, queryEnv, queryArgs...)
	admin := core.token()
	user, _ := core.account(admin, "app", "user")

	const n, clients = 1000, 8
	var (
		next    atomic.Int64
		done    atomic.Int64
		mu      sync.Mutex
		sent    = map[string]fileMeta{}
		wg      sync.WaitGroup
		failure atomic.Value
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				name := fmt.Sprintf("chaos-%04d.txt", i)
				f, code := core.ingest(user, name, strings.Repeat("x", int(i%97)+1),
					[2]string{"tags", `["chaos"]`}, [2]string{"metadata", fmt.Sprintf(`{"n":"%d"}`, i)})
				if code != 201 {
					failure.Store(fmt.Sprintf("upload %d: %d", i, code))
					return
				}
				mu.Lock()
				sent[f.FileID] = f
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	at := func(k int64) {
		testenv.Eventually(t, 60*time.Second, fmt.Sprintf("%d uploads", k), func() bool { return done.Load() >= k || failure.Load() != nil })
	}
	at(200)
	q.kill()
	at(350)
	redis.Stop()
	at(500)
	q = startWith(t, queryDir, queryAddr, queryEnv, queryArgs...)
	at(650)
	redis.Start()
	at(800)
	q.kill()
	q = startWith(t, queryDir, queryAddr, queryEnv, queryArgs...)
	wg.Wait()
	if f := failure.Load(); f != nil {
		t.Fatal(f)
	}
	if len(sent) != n {
		t.Fatalf("%d uploads acknowledged", len(sent))
	}
	total := 0
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res struct{ Total int }
		q.call("GET", "/api/v1/search?tags=chaos&limit=1", user, "", nil, &res)
		total = res.Total
		if total == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index holds %d of %d; query stderr:\n%s", total, n, q.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := 0
	for off := 0; off < n; off += 500 {
		var res struct{ Items []fileMeta }
		q.call("GET", fmt.Sprintf("/api/v1/search?tags=chaos&sort_by=filename&sort_order=asc&limit=500&offset=%d", off), user, "", nil, &res)
		for _, f := range res.Items {
			want, ok := sent[f.FileID]
			if !ok || f.Checksum != want.Checksum || f.Size != want.Size || f.OriginalFilename != want.OriginalFilename ||
				f.Metadata["n"] == "" || len(f.Tags) != 1 {
				t.Fatalf("index holds %+v, uploaded %+v", f, want)
			}
			seen++
		}
	}
	if seen != n {
		t.Fatalf("listed %d files", seen)
	}
	var rep struct {
		Repaired int `json:"repaired"`
		Elements []struct {
			ElementFiles int    `json:"element_files"`
			Error        string `json:"error"`
		} `json:"elements"`
	}
	if code := q.call("POST", "/api/v1/reconcile", admin, "", nil, &rep); code != 200 || rep.Repaired != 0 {
		t.Fatalf("reconciliation: %d %+v", code, rep)
	}
	for _, e := range rep.Elements {
		if e.Error != "" {
			t.Fatalf("reconciliation error: %s", e.Error)
		}
	}
}

// TestRateLimitAcrossProcesses runs two admin processes on one PostgreSQL
// database: an account's requests per minute hold across both.
func TestRateLimitAcrossProcesses(t *testing.T) {
	dsn := testenv.Postgres(t)
	env := []string{"ARTSTORE_DATABASE_URL=" + dsn, "ARTSTORE_AUDIT_KEY=" + strings.Repeat("ab", 32)}
	a := startWith(t, t.TempDir(), freeAddr(t), env, "--roles", "admin")
	b := startWith(t, t.TempDir(), freeAddr(t), env, "--roles", "admin")
	admin := a.token()
	var acct map[string]string
	if code := a.call("POST", "/api/v1/service-accounts", admin, "application/json",
		strings.NewReader(`{"name":"limited","role":"admin","rate_limit":10}`), &acct); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	a.call("POST", "/api/v1/auth/token", "", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials&client_id="+acct["client_id"]+"&client_secret="+acct["client_secret"]), &tok)
	ok, limited := 0, 0
	for i := 0; i < 8; i++ {
		for _, p := range []*proc{a, b} {
			switch code := p.call("GET", "/api/v1/service-accounts?limit=1", tok.AccessToken, "", nil, nil); code {
			case 200:
				ok++
			case 429:
				limited++
			default:
				t.Fatalf("request: %d", code)
			}
		}
	}
	if ok != 10 || limited != 6 {
		t.Fatalf("%d allowed and %d limited across two processes, want 10 and 6", ok, limited)
	}
}

// TestRegistryFollowsElements runs a storage element in its own process
// that registers itself with the admin service; stopped, it goes offline in
// the registry and ingest stops choosing it; started again, it is back.
func TestRegistryFollowsElements(t *testing.T) {
	core := startWith(t, t.TempDir(), freeAddr(t), []string{"ARTSTORE_REGISTRY_POLL_INTERVAL=200ms"}, "--roles", "admin,ingest,query")
	admin := core.token()
	id, secret := testcluster.Credentials(t, core.data)
	storeDir, storeAddr := t.TempDir(), freeAddr(t)
	storeEnv := []string{"ARTSTORE_ADMIN_URL=" + core.url, "ARTSTORE_CLIENT_ID=" + id, "ARTSTORE_CLIENT_SECRET=" + secret,
		"ARTSTORE_PUBLIC_URL=http://" + storeAddr}
	storeArgs := []string{"--roles", "storage", "--jwks-url", core.url + "/.well-known/jwks.json", "--element", "id=rw-09,mode=rw"}
	store := startWith(t, storeDir, storeAddr, storeEnv, storeArgs...)
	status := func() string {
		var e struct{ Status string }
		if code := core.call("GET", "/api/v1/storage-elements/rw-09", admin, "", nil, &e); code != 200 {
			return ""
		}
		return e.Status
	}
	testenv.Eventually(t, 15*time.Second, "the element to register and be online", func() bool { return status() == "online" })
	upload := func() (fileMeta, int) {
		return core.ingest(admin, "doc.txt", "registry", [2]string{"retention_policy", "permanent"})
	}
	testenv.Eventually(t, 10*time.Second, "ingest to use the registered element", func() bool { _, code := upload(); return code == 201 })
	f, _ := upload()
	if f.StorageElementID != "rw-09" {
		t.Fatalf("uploaded to %q", f.StorageElementID)
	}
	store.kill()
	testenv.Eventually(t, 10*time.Second, "the element to go offline", func() bool { return status() == "offline" })
	if _, code := upload(); code != 503 {
		t.Fatalf("upload with the only rw element offline: %d", code)
	}
	store = startWith(t, storeDir, storeAddr, storeEnv, storeArgs...)
	testenv.Eventually(t, 10*time.Second, "the element to come back online", func() bool { return status() == "online" })
	testenv.Eventually(t, 10*time.Second, "ingest to use it again", func() bool { _, code := upload(); return code == 201 })
	var list struct{ Total int }
	core.call("GET", "/api/v1/storage-elements?status=online&mode=rw", admin, "", nil, &list)
	if list.Total != 1 {
		t.Fatalf("online rw elements: %d", list.Total)
	}
}
