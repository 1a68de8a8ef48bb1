package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
	"github.com/artstore/artstore/internal/testenv"
)

// ingestUpload uploads through the public ingest API.
func ingestUpload(t *testing.T, c *testcluster.Cluster, token, name, content string, fields ...[2]string) *testcluster.Response {
	t.Helper()
	ct, body := testcluster.Form(fields, name, content)
	return c.Do("POST", "/api/v1/files/upload", token, ct, body, nil)
}

func search(t *testing.T, c *testcluster.Cluster, token string, q map[string]any) catalog.Result {
	t.Helper()
	b, _ := json.Marshal(q)
	r := c.Do("POST", "/api/v1/search", token, "application/json", strings.NewReader(string(b)), nil)
	if r.StatusCode != 200 {
		t.Fatalf("search %s: %d %s", b, r.StatusCode, r.Body)
	}
	var res catalog.Result
	r.JSON(t, &res)
	return res
}

func ids(files []artstore.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.OriginalFilename)
	}
	return out
}

// TestDataFlow drives the public API: uploads land on the element their
// retention policy needs, search finds them by every filter, downloads
// serve ranges, updates and deletes reach the owning element.
func TestDataFlow(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	other := c.Account("other", "user")
	reader := c.Account("reader", "readonly")

	temp := mustFile(t, ingestUpload(t, c, tok, "Отчёт за квартал.pdf", "quarterly numbers",
		[2]string{"description", "Квартальный отчёт"}, [2]string{"tags", `["finance","q3"]`},
		[2]string{"metadata", `{"dept":"acct","year":2026}`}), 201)
	if temp.StorageElementID != "edit-01" || temp.RetentionPolicy != artstore.Temporary || temp.ExpiresAt == nil {
		t.Fatalf("temporary upload: %+v", temp)
	}
	if d := time.Until(*temp.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour+time.Minute {
		t.Fatalf("default expiry in %v", d)
	}
	short := mustFile(t, ingestUpload(t, c, tok, "scratch.txt", "scratch", [2]string{"ttl_days", "5"}), 201)
	if d := time.Until(*short.ExpiresAt); d < 5*24*time.Hour-time.Minute || d > 5*24*time.Hour+time.Minute {
		t.Fatalf("ttl_days=5 expiry in %v", d)
	}
	perm := mustFile(t, ingestUpload(t, c, other, "Résumé.DOCX", "a permanent résumé document",
		[2]string{"retention_policy", "permanent"}, [2]string{"description", "Curriculum vitae"},
		[2]string{"tags", `["hr"]`}), 201)
	if perm.StorageElementID != "rw-01" || perm.RetentionPolicy != artstore.Permanent || perm.ExpiresAt != nil {
		t.Fatalf("permanent upload: %+v", perm)
	}
	// The uploader is the caller, as the element itself would record it.
	direct := mustFile(t, upload(t, c, "edit-01", tok, "direct.txt", "direct"), 201)
	if temp.UploadedBy != direct.UploadedBy || perm.UploadedBy == temp.UploadedBy {
		t.Fatalf("uploaded_by %q %q %q", temp.UploadedBy, direct.UploadedBy, perm.UploadedBy)
	}

	// Metadata and search, by every filter.
	got := mustFile(t, c.Do("GET", "/api/v1/files/"+temp.FileID, reader, "", nil, nil), 200)
	if got.Checksum != temp.Checksum || got.Description != "Квартальный отчёт" {
		t.Fatalf("metadata %+v", got)
	}
	// The file uploaded straight to the element arrives through its journal.
	testenv.Eventually(t, 10*time.Second, "the journal to bring direct.txt", func() bool {
		return search(t, c, reader, map[string]any{"filename": "direct"}).Total == 1
	})
	after := temp.UploadedAt.Add(-time.Second).Format(time.RFC3339Nano)
	cases := []struct {
		q    map[string]any
		want []string
	}{
		{map[string]any{"query": "отчет"}, []string{"Отчёт за квартал.pdf"}},
		{map[string]any{"query": "RESUME"}, []string{"Résumé.DOCX"}},
		{map[string]any{"query": "curric"}, []string{"Résumé.DOCX"}},
		{map[string]any{"query": "acct"}, []string{"Отчёт за квартал.pdf"}},
		{map[string]any{"filename": "скрат"}, nil},
		{map[string]any{"filename": "SCRATCH"}, []string{"scratch.txt"}},
		{map[string]any{"file_extension": "docx"}, []string{"Résumé.DOCX"}},
		{map[string]any{"tags": []string{"finance", "q3"}}, []string{"Отчёт за квартал.pdf"}},
		{map[string]any{"tags": []string{"finance", "hr"}}, nil},
		{map[string]any{"uploaded_by": perm.UploadedBy}, []string{"Résumé.DOCX"}},
		{map[string]any{"content_type": "application/pdf"}, []string{"Отчёт за квартал.pdf"}},
		{map[string]any{"min_size": 20, "max_size": 100}, []string{"Résumé.DOCX"}},
		{map[string]any{"retention_policy": "permanent"}, []string{"Résumé.DOCX"}},
		{map[string]any{"storage_element_id": "rw-01"}, []string{"Résumé.DOCX"}},
		{map[string]any{"metadata": map[string]string{"dept": "acct", "year": "2026"}}, []string{"Отчёт за квартал.pdf"}},
		{map[string]any{"uploaded_after": after, "sort_by": "size", "sort_order": "asc"}, []string{"direct.txt", "scratch.txt", "Отчёт за квартал.pdf", "Résumé.DOCX"}},
	}
	for _, cs := range cases {
		res := search(t, c, reader, cs.q)
		if fmt.Sprint(ids(res.Items)) != fmt.Sprint(cs.want) || res.Total != int64(len(cs.want)) {
			t.Errorf("search %v: got %v (total %d), want %v", cs.q, ids(res.Items), res.Total, cs.want)
		}
	}
	page := search(t, c, reader, map[string]any{"sort_by": "filename", "limit": 2, "offset": 1})
	if page.Total != 4 || !page.TotalExact || len(page.Items) != 2 || !page.HasMore || page.Limit != 2 || page.Offset != 1 {
		t.Fatalf("pagination: %+v", page)
	}
	if r := c.Do("GET", "/api/v1/search?q="+url.QueryEscape("квартал")+"&tags=finance", reader, "", nil, nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), temp.FileID) {
		t.Fatalf("GET search: %d %s", r.StatusCode, r.Body)
	}

	// Download, whole and by range.
	base := "/api/v1/files/" + perm.FileID
	r := c.Do("GET", base+"/download", reader, "", nil, nil)
	if r.StatusCode != 200 || string(r.Body) != "a permanent résumé document" || r.Header.Get("ETag") != `"`+perm.Checksum+`"` {
		t.Fatalf("download: %d %q", r.StatusCode, r.Body)
	}
	r = c.Do("GET", base+"/download", reader, "", nil, http.Header{"Range": {"bytes=2-10"}})
	if r.StatusCode != 206 || string(r.Body) != "permanent" {
		t.Fatalf("range: %d %q", r.StatusCode, r.Body)
	}
	if r = c.Do("GET", base+"/download", reader, "", nil, http.Header{"Range": {"bytes=500-"}}); r.StatusCode != 416 {
		t.Fatalf("unsatisfiable range: %d", r.StatusCode)
	}

	// Updates reach the owner and the search.
	r = c.Do("PATCH", "/api/v1/files/"+temp.FileID, tok, "application/json", strings.NewReader(`{"description":"annual summary"}`), nil)
	if u := mustFile(t, r, 200); u.Version != 2 {
		t.Fatalf("patch: %+v", u)
	}
	if res := search(t, c, reader, map[string]any{"query": "annual"}); res.Total != 1 {
		t.Fatalf("search after patch: %+v", res)
	}
	if r := c.Do("PATCH", "/api/v1/files/"+temp.FileID, reader, "application/json", strings.NewReader(`{"description":"x"}`), nil); r.StatusCode != 403 {
		t.Fatalf("patch by a reader: %d", r.StatusCode)
	}

	// Deletes: temporary files only.
	if r := c.Do("DELETE", "/api/v1/files/"+perm.FileID, tok, "", nil, nil); r.StatusCode != 409 {
		t.Fatalf("delete of a permanent file: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("DELETE", "/api/v1/files/"+temp.FileID, tok, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	for _, p := range []string{"", "/download"} {
		if r := c.Do("GET", "/api/v1/files/"+temp.FileID+p, reader, "", nil, nil); r.StatusCode != 404 {
			t.Fatalf("GET%s after delete: %d", p, r.StatusCode)
		}
	}
	if res := search(t, c, reader, map[string]any{"query": "annual"}); res.Total != 0 {
		t.Fatalf("deleted file still found: %+v", res)
	}
	// A delete made on the element itself reaches the catalog too.
	if r := c.Do("DELETE", "/elements/edit-01/api/v1/files/"+direct.FileID, c.AdminToken(), "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("direct delete: %d %s", r.StatusCode, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, "the journal to bring the delete", func() bool {
		return search(t, c, reader, map[string]any{"filename": "direct"}).Total == 0
	})
}

// TestSequentialFill shows the fill order across three edit elements and
// the 503 when none has room.
func TestSequentialFill(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) {
		cfg.Elements = []config.Element{
			{ID: "edit-c", Mode: artstore.ModeEdit, Priority: 30, Capacity: 100},
			{ID: "edit-a", Mode: artstore.ModeEdit, Priority: 10, Capacity: 100},
			{ID: "edit-b", Mode: artstore.ModeEdit, Priority: 20, Capacity: 100},
			{ID: "rw-01", Mode: artstore.ModeRW, Priority: 10},
		}
	})
	tok := c.Account("app", "user")
	var placed []string
	for i := 0; i < 6; i++ {
		r := ingestUpload(t, c, tok, fmt.Sprintf("f%d.bin", i), strings.Repeat("x", 45), [2]string{"size", "45"})
		placed = append(placed, mustFile(t, r, 201).StorageElementID)
	}
	if want := "[edit-a edit-a edit-b edit-b edit-c edit-c]"; fmt.Sprint(placed) != want {
		t.Fatalf("fill order %v, want %s", placed, want)
	}
	r := ingestUpload(t, c, tok, "full.bin", strings.Repeat("x", 45), [2]string{"size", "45"})
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" || errCode(t, r) != "NO_STORAGE_AVAILABLE" {
		t.Fatalf("all full: %d %v %s", r.StatusCode, r.Header, r.Body)
	}
	// A small file still fits in the first element with room.
	r = ingestUpload(t, c, tok, "small.bin", "0123456789", [2]string{"size", "10"})
	if f := mustFile(t, r, 201); f.StorageElementID != "edit-a" {
		t.Fatalf("small file on %s", f.StorageElementID)
	}
}

// TestDataFlowBadInput checks that bad requests get a clear 4xx.
func TestDataFlowBadInput(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	deleted := mustFile(t, ingestUpload(t, c, tok, "gone.txt", "gone"), 201)
	if r := c.Do("DELETE", "/api/v1/files/"+deleted.FileID, tok, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	jsonBody := func(s string) *strings.Reader { return strings.NewReader(s) }
	checks := []struct {
		name string
		r    *testcluster.Response
		want int
	}{
		{"unknown policy", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"retention_policy", "forever"}), 400},
		{"ttl_days 0", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"ttl_days", "0"}), 400},
		{"ttl_days 366", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"ttl_days", "366"}), 400},
		{"ttl_days text", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"ttl_days", "many"}), 400},
		{"ttl_days on permanent", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"retention_policy", "permanent"}, [2]string{"ttl_days", "3"}), 400},
		{"tags not JSON", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"tags", "[oops"}), 400},
		{"metadata not JSON", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"metadata", "{"}), 400},
		{"element's own field", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"file_id", "0190d3a8-7c41-7000-8000-000000000001"}), 400},
		{"preserve through ingest", ingestUpload(t, c, tok, "a.txt", "a", [2]string{"preserve", `{"version":9}`}), 400},
		{"bad name", ingestUpload(t, c, tok, "../etc/passwd", "a"), 400},
		{"missing file", ingestUpload(t, c, tok, "", ""), 400},
		{"multipart without a boundary", c.Do("POST", "/api/v1/files/upload", tok, "multipart/form-data", strings.NewReader("x"), nil), 400},
		{"not multipart", c.Do("POST", "/api/v1/files/upload", tok, "application/octet-stream", strings.NewReader("x"), nil), 400},
		{"reader uploads", ingestUpload(t, c, c.Account("r", "readonly"), "a.txt", "a"), 403},
		{"no token", ingestUpload(t, c, "", "a.txt", "a"), 401},
		{"invalid sort", c.Do("POST", "/api/v1/search", tok, "application/json", jsonBody(`{"sort_by":"colour"}`), nil), 400},
		{"invalid order", c.Do("POST", "/api/v1/search", tok, "application/json", jsonBody(`{"sort_order":"sideways"}`), nil), 400},
		{"10000-char query", c.Do("POST", "/api/v1/search", tok, "application/json", jsonBody(`{"query":"`+strings.Repeat("q", 10000)+`"}`), nil), 400},
		{"search bad JSON", c.Do("POST", "/api/v1/search", tok, "application/json", jsonBody(`{"query":`), nil), 400},
		{"search unknown field", c.Do("POST", "/api/v1/search", tok, "application/json", jsonBody(`{"colour":"red"}`), nil), 400},
		{"search bad limit", c.Do("GET", "/api/v1/search?limit=0", tok, "", nil, nil), 400},
		{"search unknown param", c.Do("GET", "/api/v1/search?colour=red", tok, "", nil, nil), 400},
		{"search param twice", c.Do("GET", "/api/v1/search?sort_by=size&sort_by=filename", tok, "", nil, nil), 400},
		{"search q and query", c.Do("GET", "/api/v1/search?q=a&query=b", tok, "", nil, nil), 400},
		{"search malformed escape", c.Do("GET", "/api/v1/search?q=%zz", tok, "", nil, nil), 400},
		{"search semicolon", c.Do("GET", "/api/v1/search?q=hello;x", tok, "", nil, nil), 400},
		{"search tags twice", c.Do("GET", "/api/v1/search?tags=a&tags=b", tok, "", nil, nil), 200},
		{"hostile query", c.Do("GET", "/api/v1/search?q="+url.QueryEscape(`"a" OR (b* NEAR c) -d: ' ; DROP TABLE x`), tok, "", nil, nil), 200},
		{"download of a deleted file", c.Do("GET", "/api/v1/files/"+deleted.FileID+"/download", tok, "", nil, nil), 404},
		{"metadata of a bad id", c.Do("GET", "/api/v1/files/not-a-uuid", tok, "", nil, nil), 400},
		{"patch of a deleted file", c.Do("PATCH", "/api/v1/files/"+deleted.FileID, tok, "application/json", jsonBody(`{"description":"x"}`), nil), 404},
	}
	for _, ch := range checks {
		if ch.r.StatusCode != ch.want {
			t.Errorf("%s: %d, want %d: %s", ch.name, ch.r.StatusCode, ch.want, ch.r.Body)
		}
	}
}

// TestGarbageCollection deletes exactly the expired temporary files, and
// the deletions reach the catalog.
func TestGarbageCollection(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	expired1 := mustFile(t, upload(t, c, "edit-01", tok, "old1.txt", "old", [2]string{"expires_at", past}), 201)
	expired2 := mustFile(t, upload(t, c, "edit-01", tok, "old2.txt", "old", [2]string{"expires_at", past}), 201)
	fresh := mustFile(t, ingestUpload(t, c, tok, "fresh.txt", "fresh"), 201)
	perm := mustFile(t, ingestUpload(t, c, tok, "perm.txt", "perm", [2]string{"retention_policy", "permanent"}), 201)
	testenv.Eventually(t, 10*time.Second, "the journal to bring the direct uploads", func() bool {
		return search(t, c, tok, map[string]any{}).Total == 4
	})
	if r := c.Do("POST", "/api/v1/gc/run", tok, "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("gc run by a user: %d", r.StatusCode)
	}
	r := c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil)
	var rep struct {
		Examined int      `json:"examined"`
		Deleted  []string `json:"deleted"`
		Errors   []string `json:"errors"`
		Duration float64  `json:"duration_seconds"`
	}
	if r.StatusCode != 200 {
		t.Fatalf("gc run: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(t, &rep)
	if rep.Examined != 2 || len(rep.Deleted) != 2 || len(rep.Errors) != 0 || rep.Duration <= 0 {
		t.Fatalf("gc report: %s", r.Body)
	}
	for _, f := range []artstore.File{expired1, expired2} {
		if r := c.Do("GET", "/elements/edit-01/api/v1/files/"+f.FileID, admin, "", nil, nil); r.StatusCode != 404 {
			t.Fatalf("%s still on the element: %d", f.OriginalFilename, r.StatusCode)
		}
		if r := c.Do("GET", "/api/v1/files/"+f.FileID, admin, "", nil, nil); r.StatusCode != 404 {
			t.Fatalf("%s still in the catalog: %d", f.OriginalFilename, r.StatusCode)
		}
	}
	for _, f := range []artstore.File{fresh, perm} {
		if r := c.Do("GET", "/api/v1/files/"+f.FileID+"/download", admin, "", nil, nil); r.StatusCode != 200 {
			t.Fatalf("%s was touched: %d", f.OriginalFilename, r.StatusCode)
		}
	}
	// A second run finds nothing; the metrics count the first.
	r = c.Do("POST", "/api/v1/gc/run", admin, "", nil, nil)
	r.JSON(t, &rep)
	if rep.Examined != 0 || len(rep.Deleted) != 0 {
		t.Fatalf("second gc run: %s", r.Body)
	}
	if m := string(c.Do("GET", "/metrics", "", "", nil, nil).Body); !strings.Contains(m, "artstore_gc_deleted_files_total 2") {
		t.Fatal("gc metrics missing")
	}
}

// TestCompression stores a file compressed: size and checksum are the
// original's, downloads and ranges return original bytes, the element
// holds fewer bytes, and finalize and verify keep working.
func TestCompression(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	var b strings.Builder
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, "line %d of a very compressible document\n", i)
	}
	content := b.String()
	f := mustFile(t, ingestUpload(t, c, tok, "log.txt", content, [2]string{"compress", "zstd"}), 201)
	sum := sha256.Sum256([]byte(content))
	if f.Size != int64(len(content)) || f.Checksum != hex.EncodeToString(sum[:]) || f.Compression != "zstd" ||
		f.StoredSize <= 0 || f.StoredSize > f.Size/4 {
		t.Fatalf("compressed upload: size %d stored %d compression %q", f.Size, f.StoredSize, f.Compression)
	}
	st, err := os.Stat(filepath.Join(c.DataDir, "elements", "edit-01", "files", f.StoragePath, f.StorageFilename))
	if err != nil || st.Size() != f.StoredSize {
		t.Fatalf("on disk: %v %v", st, err)
	}
	base := "/api/v1/files/" + f.FileID + "/download"
	if r := c.Do("GET", base, tok, "", nil, nil); r.StatusCode != 200 || string(r.Body) != content {
		t.Fatalf("download: %d, %d bytes", r.StatusCode, len(r.Body))
	}
	for _, rg := range [][2]int{{0, 10}, {1<<20 - 5, 1<<20 + 5}, {2<<20 + 7, 3 << 20}, {len(content) - 3, len(content) - 1}} {
		r := c.Do("GET", base, tok, "", nil, http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", rg[0], rg[1])}})
		if r.StatusCode != 206 || string(r.Body) != content[rg[0]:rg[1]+1] {
			t.Fatalf("range %v: %d %q", rg, r.StatusCode, r.Body)
		}
	}
	if r := ingestUpload(t, c, tok, "x.txt", "x", [2]string{"compress", "gzip"}); r.StatusCode != 400 {
		t.Fatalf("compress=gzip: %d", r.StatusCode)
	}
	var rep struct {
		Checked int
		Corrupt []string
	}
	c.Do("POST", "/elements/edit-01/api/v1/verify", admin, "", nil, nil).JSON(t, &rep)
	if rep.Checked != 1 || len(rep.Corrupt) != 0 {
		t.Fatalf("verify: %+v", rep)
	}
	perm := mustFile(t, c.Do("POST", "/api/v1/files/"+f.FileID+"/finalize", tok, "", nil, nil), 200)
	if perm.Compression != "zstd" || perm.Checksum != f.Checksum {
		t.Fatalf("finalized: %+v", perm)
	}
	if r := c.Do("GET", base, tok, "", nil, http.Header{"Range": {"bytes=-20"}}); r.StatusCode != 206 || string(r.Body) != content[len(content)-20:] {
		t.Fatalf("suffix range after finalize: %d %q", r.StatusCode, r.Body)
	}
}

// TestReconcile damages the catalog behind the journals' back and checks
// that reconciliation repairs exactly the damage and reports it.
func TestReconcile(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) { cfg.ReconcileInterval = 0 })
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	a := mustFile(t, ingestUpload(t, c, tok, "a.txt", "a"), 201)
	b := mustFile(t, ingestUpload(t, c, tok, "b.txt", "b", [2]string{"retention_policy", "permanent"}), 201)
	type report struct {
		Repaired int `json:"repaired"`
		Elements []struct {
			ElementID string   `json:"element_id"`
			Added     []string `json:"added"`
			Updated   []string `json:"updated"`
			Removed   []string `json:"removed"`
		} `json:"elements"`
	}
	var rep report
	c.Do("POST", "/api/v1/reconcile", admin, "", nil, nil).JSON(t, &rep)
	if rep.Repaired != 0 {
		t.Fatalf("a healthy catalog was repaired: %+v", rep)
	}
	if r := c.Do("POST", "/api/v1/reconcile", tok, "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("reconcile by a user: %d", r.StatusCode)
	}
	ctx := context.Background()
	cat := c.Server.Catalog()
	// Damage: a file lost (a wrong tombstone) and a file the element
	// never had.
	if err := cat.Remove(ctx, "edit-01", a.FileID, a.Version); err != nil {
		t.Fatal(err)
	}
	ghost := b
	ghost.FileID, ghost.StorageElementID, ghost.OriginalFilename = "0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", "edit-01", "ghost.txt"
	if err := cat.Put(ctx, &ghost); err != nil {
		t.Fatal(err)
	}
	if r := c.Do("GET", "/api/v1/files/"+a.FileID, tok, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("damage not in place: %d", r.StatusCode)
	}
	c.Do("POST", "/api/v1/reconcile", admin, "", nil, nil).JSON(t, &rep)
	got := map[string]string{}
	for _, e := range rep.Elements {
		for _, id := range e.Added {
			got[id] = "added on " + e.ElementID
		}
		for _, id := range e.Removed {
			got[id] = "removed from " + e.ElementID
		}
		for _, id := range e.Updated {
			got[id] = "updated on " + e.ElementID
		}
	}
	want := map[string]string{a.FileID: "added on edit-01", ghost.FileID: "removed from edit-01"}
	if rep.Repaired != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("repairs %v (%d), want %v", got, rep.Repaired, want)
	}
	if f := mustFile(t, c.Do("GET", "/api/v1/files/"+a.FileID, tok, "", nil, nil), 200); f.Checksum != a.Checksum {
		t.Fatalf("repaired file: %+v", f)
	}
	if r := c.Do("GET", "/api/v1/files/"+ghost.FileID, tok, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("ghost still there: %d", r.StatusCode)
	}
	c.Do("POST", "/api/v1/reconcile", admin, "", nil, nil).JSON(t, &rep)
	if rep.Repaired != 0 {
		t.Fatalf("second reconciliation repaired %d", rep.Repaired)
	}
}

// TestRegistryPriority: a priority an operator sets in the registry changes
// where uploads go, within one poll.
func TestRegistryPriority(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) {
		cfg.RegistryPoll = config.Duration(100 * time.Millisecond)
		cfg.Elements = []config.Element{
			{ID: "edit-01", Mode: artstore.ModeEdit, Priority: 10},
			{ID: "rw-a", Mode: artstore.ModeRW, Priority: 10},
			{ID: "rw-b", Mode: artstore.ModeRW, Priority: 20},
		}
	})
	tok := c.AdminToken()
	perm := [2]string{"retention_policy", "permanent"}
	if f := mustFile(t, ingestUpload(t, c, tok, "a.txt", "a", perm), 201); f.StorageElementID != "rw-a" {
		t.Fatalf("before: %s", f.StorageElementID)
	}
	if r := c.Do("PUT", "/api/v1/storage-elements/rw-b", tok, "application/json", strings.NewReader(`{"priority":1}`), nil); r.StatusCode != 200 {
		t.Fatalf("set priority: %d %s", r.StatusCode, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, "uploads to follow the registry's priority", func() bool {
		r := ingestUpload(t, c, tok, "b.txt", "b", perm)
		return r.StatusCode == 201 && mustFile(t, r, 201).StorageElementID == "rw-b"
	})
}

// TestUploadContentTypeField checks that the content_type field names the
// type of a file sent as a generic part, through ingest as straight to the
// element; a specific part type wins over it.
func TestUploadContentTypeField(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	field := [2]string{"content_type", "text/csv"}
	for name, r := range map[string]*testcluster.Response{
		"ingest":  ingestUpload(t, c, tok, "data.bin", "a,b\n1,2\n", field),
		"element": upload(t, c, "edit-01", tok, "data.bin", "a,b\n1,2\n", field),
	} {
		if f := mustFile(t, r, 201); f.ContentType != "text/csv" {
			t.Errorf("%s: content type %q, want the field's text/csv", name, f.ContentType)
		}
	}
}

// TestDownloadJustDeleted checks that a download of a file deleted on its
// element, asked at once, whether or not the catalog has heard of the
// deletion yet, is a clean 404 before any header of the file is sent.
func TestDownloadJustDeleted(t *testing.T) {
	c := testcluster.Start(t)
	tok, admin := c.Account("app", "user"), c.AdminToken()
	for i := range 20 {
		f := mustFile(t, ingestUpload(t, c, tok, fmt.Sprintf("gone-%d.txt", i), "soon gone"), 201)
		if r := c.Do("DELETE", "/elements/"+f.StorageElementID+"/api/v1/files/"+f.FileID, admin, "", nil, nil); r.StatusCode != 204 {
			t.Fatalf("delete on the element: %d %s", r.StatusCode, r.Body)
		}
		r := c.Do("GET", "/api/v1/files/"+f.FileID+"/download", tok, "", nil, nil)
		if r.StatusCode != 404 || r.Header.Get("Content-Disposition") != "" || errCode(t, r) != "NOT_FOUND" {
			t.Fatalf("download of a file just deleted: %d %v %s", r.StatusCode, r.Header, r.Body)
		}
	}
}

// TestMetadataNumbers stores numbers in metadata that a float64 cannot
// hold: the element, the catalog and search give them back digit for
// digit, after upload and after an update.
func TestMetadataNumbers(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	const md = `{"id":9007199254740993,"big":12345678901234567890,"dec":0.10000000000000000555,"nested":{"n":[18446744073709551617]}}`
	f := mustFile(t, ingestUpload(t, c, tok, "n.txt", "numbers", [2]string{"metadata", md}), 201)
	want := func(what string, body []byte) {
		t.Helper()
		for _, lit := range []string{"9007199254740993", "12345678901234567890", "0.10000000000000000555", "18446744073709551617"} {
			if !strings.Contains(string(body), lit) {
				t.Errorf("%s lost %s: %s", what, lit, body)
			}
		}
	}
	want("the element's copy", c.Do("GET", "/elements/edit-01/api/v1/files/"+f.FileID, tok, "", nil, nil).Body)
	testenv.Eventually(t, 10*time.Second, "the catalog to hold the file", func() bool {
		return c.Do("GET", "/api/v1/files/"+f.FileID, tok, "", nil, nil).StatusCode == 200
	})
	want("the catalog", c.Do("GET", "/api/v1/files/"+f.FileID, tok, "", nil, nil).Body)
	r := c.Do("POST", "/api/v1/search", tok, "application/json", strings.NewReader(`{"metadata":{"id":"9007199254740993"}}`), nil)
	if !strings.Contains(string(r.Body), f.FileID) {
		t.Errorf("search by the exact number: %s", r.Body)
	}
	want("search", r.Body)

	r = c.Do("PATCH", "/api/v1/files/"+f.FileID, tok, "application/json", strings.NewReader(`{"metadata":`+md+`}`), nil)
	if r.StatusCode != 200 {
		t.Fatalf("patch: %d %s", r.StatusCode, r.Body)
	}
	want("the update", r.Body)
}
