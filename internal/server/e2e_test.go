package server_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
)

func upload(t *testing.T, c *testcluster.Cluster, se, token, name, content string, fields ...[2]string) *testcluster.Response {
	t.Helper()
	ct, body := testcluster.Form(fields, name, content)
	return c.Do("POST", "/elements/"+se+"/api/v1/files", token, ct, body, nil)
}

func mustFile(t *testing.T, r *testcluster.Response, status int) artstore.File {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	var f artstore.File
	r.JSON(t, &f)
	return f
}

func errCode(t *testing.T, r *testcluster.Response) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("not an error envelope: %q", r.Body)
	}
	return e.Error.Code
}

// TestFileLifecycle drives an edit element through the whole API.
func TestFileLifecycle(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	content := "The quick brown fox jumps over the lazy dog"
	r0 := upload(t, c, "edit-01", tok, "отчёт 2024.txt", content,
		[2]string{"description", "annual"}, [2]string{"tags", `["finance","2024"]`}, [2]string{"metadata", `{"dept":"acct","n":3}`})
	f := mustFile(t, r0, 201)
	if f.Size != int64(len(content)) || len(f.Checksum) != 64 || f.Version != 1 || f.OriginalFilename != "отчёт 2024.txt" ||
		f.Description != "annual" || len(f.Tags) != 2 || f.Metadata["dept"] != "acct" || f.UploadedBy == "" {
		t.Fatalf("upload answer %+v", f)
	}
	base := "/elements/edit-01/api/v1/files/" + f.FileID
	if loc, err := url.Parse(r0.Header.Get("Location")); err != nil ||
		(&url.URL{Path: "/elements/edit-01/api/v1/files"}).ResolveReference(loc).Path != base {
		t.Fatalf("Location %q does not lead to %s", r0.Header.Get("Location"), base)
	}

	got := mustFile(t, c.Do("GET", base, tok, "", nil, nil), 200)
	if got.Checksum != f.Checksum {
		t.Fatalf("metadata %+v", got)
	}

	r := c.Do("GET", base+"/download", tok, "", nil, nil)
	if r.StatusCode != 200 || string(r.Body) != content || r.Header.Get("ETag") != `"`+f.Checksum+`"` ||
		r.Header.Get("Accept-Ranges") != "bytes" || !strings.Contains(r.Header.Get("Content-Disposition"), "filename*=UTF-8''%D0%BE") {
		t.Fatalf("download: %d %q %v", r.StatusCode, r.Body, r.Header)
	}
	ranges := []struct {
		rng, want, cr string
		status        int
	}{
		{"bytes=4-8", "quick", "bytes 4-8/43", 206},
		{"bytes=40-", "dog", "bytes 40-42/43", 206},
		{"bytes=-3", "dog", "bytes 40-42/43", 206},
		{"bytes=40-1000", "dog", "bytes 40-42/43", 206},
		{"bytes=43-", "", "bytes */43", 416},
		{"bytes=-0", "", "bytes */43", 416},
		{"bytes=9-4", "", "bytes */43", 416},
		{"bytes=-5-3", "", "bytes */43", 416},
		{"bytes=abc", "", "bytes */43", 416},
		{"bytes=99999999999999999999-", "", "bytes */43", 416},
		{"BYTES=4-8", "quick", "bytes 4-8/43", 206},
		{"bytes=40-99999999999999999999", "dog", "bytes 40-42/43", 206},
		{"bytes=-99999999999999999999", content, "bytes 0-42/43", 206},
		// Several ranges, or another unit, are ignored: the whole file.
		{"bytes=0-1,4-5", content, "", 200},
		{"chars=0-4", content, "", 200},
	}
	for _, rc := range ranges {
		r := c.Do("GET", base+"/download", tok, "", nil, http.Header{"Range": {rc.rng}})
		if r.StatusCode != rc.status || r.Header.Get("Content-Range") != rc.cr || (rc.status != 416 && string(r.Body) != rc.want) {
			t.Errorf("Range %s: %d %q %q", rc.rng, r.StatusCode, r.Header.Get("Content-Range"), r.Body)
		}
	}
	// If-Range with a stale validator gets the whole file.
	r = c.Do("GET", base+"/download", tok, "", nil, http.Header{"Range": {"bytes=0-2"}, "If-Range": {`"stale"`}})
	if r.StatusCode != 200 || len(r.Body) != len(content) {
		t.Fatalf("stale If-Range: %d", r.StatusCode)
	}
	r = c.Do("GET", base+"/download", tok, "", nil, http.Header{"Range": {"bytes=0-2"}, "If-Range": {`"` + f.Checksum + `"`}})
	if r.StatusCode != 206 || string(r.Body) != "The" {
		t.Fatalf("matching If-Range: %d %q", r.StatusCode, r.Body)
	}
	r = c.Do("HEAD", base+"/download", tok, "", nil, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Length") != "43" || len(r.Body) != 0 {
		t.Fatalf("HEAD: %d %v", r.StatusCode, r.Header)
	}

	p := mustFile(t, c.Do("PATCH", base, tok, "application/json", strings.NewReader(`{"description":"revised","tags":["x"]}`), nil), 200)
	if p.Version != 2 || p.Description != "revised" || len(p.Tags) != 1 || p.Metadata["dept"] != "acct" {
		t.Fatalf("patch: %+v", p)
	}
	var list artstore.FileList
	c.Do("GET", "/elements/edit-01/api/v1/files?limit=10", tok, "", nil, nil).JSON(t, &list)
	if list.Total != 1 || list.Items[0].Version != 2 {
		t.Fatalf("list: %+v", list)
	}

	if r := c.Do("DELETE", base, tok, "", nil, nil); r.StatusCode != 403 {
		t.Fatalf("delete by user: %d", r.StatusCode)
	}
	if r := c.Do("DELETE", base, admin, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete by admin: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", base, tok, "", nil, nil); r.StatusCode != 404 || errCode(t, r) != "NOT_FOUND" {
		t.Fatalf("after delete: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", base+"/download", tok, "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("download after delete: %d", r.StatusCode)
	}

	var ch artstore.Changes
	c.Do("GET", "/elements/edit-01/api/v1/changes?since=0", tok, "", nil, nil).JSON(t, &ch)
	if len(ch.Items) != 3 || ch.LastSeq != 3 || ch.Items[2].Type != artstore.FileDeleted {
		t.Fatalf("changes: %+v", ch)
	}

	// What happened shows in the metrics.
	m := string(c.Do("GET", "/metrics", "", "", nil, nil).Body)
	for _, want := range []string{
		`artstore_element_operations_total{element="edit-01",op="upload",outcome="ok"} 1`,
		`artstore_element_operations_total{element="edit-01",op="delete",outcome="ok"} 1`,
		`artstore_element_bytes_total{direction="in",element="edit-01"} 43`,
		`artstore_element_errors_total{element="edit-01",kind="not_exist",op="stat"}`,
		`artstore_element_operation_duration_seconds_count{element="edit-01",op="upload"} 1`,
		`artstore_element_capacity_bytes{element="edit-01",kind="used"} 0`,
		`artstore_http_requests_total{code="206",method="GET",route="/elements/edit-01/api/v1/files/{file_id}/download"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestModesOverHTTP walks an rw element to ro and ar and checks what each
// mode allows.
func TestModesOverHTTP(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	admin := c.AdminToken()
	f := mustFile(t, upload(t, c, "rw-01", tok, "a.txt", "permanent"), 201)
	base := "/elements/rw-01/api/v1/files/" + f.FileID
	mode := func(tok, m string) *testcluster.Response {
		return c.Do("POST", "/elements/rw-01/api/v1/mode", tok, "application/json", strings.NewReader(`{"mode":"`+m+`"}`), nil)
	}
	if r := c.Do("DELETE", base, admin, "", nil, nil); r.StatusCode != 409 || errCode(t, r) != "MODE_NOT_ALLOWED" {
		t.Fatalf("delete in rw: %d %s", r.StatusCode, r.Body)
	}
	if r := mode(tok, "ro"); r.StatusCode != 403 {
		t.Fatalf("mode change by user: %d", r.StatusCode)
	}
	for _, m := range []string{"edit", "ar", "bogus"} {
		if r := mode(admin, m); r.StatusCode/100 != 4 {
			t.Fatalf("rw → %s: %d", m, r.StatusCode)
		}
	}
	if r := mode(admin, "ro"); r.StatusCode != 200 {
		t.Fatalf("rw → ro: %d %s", r.StatusCode, r.Body)
	}
	if r := upload(t, c, "rw-01", tok, "b.txt", "b"); r.StatusCode != 409 || errCode(t, r) != "MODE_NOT_ALLOWED" {
		t.Fatalf("upload in ro: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("PATCH", base, tok, "application/json", strings.NewReader(`{"description":"x"}`), nil); r.StatusCode != 409 {
		t.Fatalf("patch in ro: %d", r.StatusCode)
	}
	if r := c.Do("GET", base+"/download", tok, "", nil, nil); r.StatusCode != 200 || string(r.Body) != "permanent" {
		t.Fatalf("download in ro: %d", r.StatusCode)
	}
	if r := mode(admin, "ar"); r.StatusCode != 200 {
		t.Fatalf("ro → ar: %d", r.StatusCode)
	}
	if r := c.Do("GET", base+"/download", tok, "", nil, nil); r.StatusCode != 409 {
		t.Fatalf("download in ar: %d", r.StatusCode)
	}
	if r := c.Do("GET", base, tok, "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("metadata in ar: %d", r.StatusCode)
	}
	if r := mode(admin, "ro"); r.StatusCode != 409 {
		t.Fatalf("ar → ro: %d", r.StatusCode)
	}
	if r := c.Do("DELETE", "/elements/rw-01/api/v1/gc/"+f.FileID, admin, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("gc delete in ar: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("DELETE", "/elements/rw-01/api/v1/gc/"+f.FileID, admin, "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("repeated gc delete: %d", r.StatusCode)
	}
	var info artstore.ElementInfo
	c.Do("GET", "/elements/rw-01/api/v1/info", tok, "", nil, nil).JSON(t, &info)
	if info.Mode != artstore.ModeAR || info.FileCount != 0 || info.Backend != "local" {
		t.Fatalf("info: %+v", info)
	}
}

// TestAuthErrors checks tokens and roles on element routes.
func TestAuthErrors(t *testing.T) {
	c := testcluster.Start(t)
	ro := c.Account("reader", "readonly")
	auditor := c.Account("auditor", "auditor")
	path := "/elements/edit-01/api/v1/files"
	for _, tok := range []string{"", "garbage", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0."} {
		r := c.Do("GET", path, tok, "", nil, nil)
		if r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: %d %v", tok, r.StatusCode, r.Header)
		}
	}
	// A token whose signature was tampered with.
	good := c.AdminToken()
	tampered := good[:len(good)-4] + "AAAA"
	if r := c.Do("GET", path, tampered, "", nil, nil); r.StatusCode != 401 {
		t.Errorf("tampered token: %d", r.StatusCode)
	}
	for _, tok := range []string{ro, auditor} {
		if r := upload(t, c, "edit-01", tok, "a.txt", "a"); r.StatusCode != 403 {
			t.Errorf("upload by reader: %d", r.StatusCode)
		}
		if r := c.Do("GET", path, tok, "", nil, nil); r.StatusCode != 200 {
			t.Errorf("list by reader: %d", r.StatusCode)
		}
	}
	if r := c.Do("POST", "/elements/edit-01/api/v1/rebuild", ro, "", nil, nil); r.StatusCode != 403 {
		t.Errorf("rebuild by reader: %d", r.StatusCode)
	}
}

// TestBadInput sends malformed requests: each gets a clear 4xx and nothing
// is stored.
func TestBadInput(t *testing.T) {
	c := testcluster.Start(t)
	tok := c.Account("app", "user")
	ep := "/elements/edit-01/api/v1/files"
	good := [2]string{"description", "ok"}
	cases := []struct {
		name   string
		ct     string
		body   string
		status int
	}{
		{"dot-dot name", "", "../../etc/passwd", 400},
		{"absolute name", "", "/etc/passwd", 400},
		{"backslash name", "", `..\..\win.ini`, 400},
		{"NUL in name", "", "a\x00b.txt", 400},
		{"10 KB name", "", strings.Repeat("x", 10000) + ".txt", 400},
		{"invalid UTF-8 name", "", "bad\xff\xfe.txt", 400},
		{"empty name", "", "", 400},
	}
	for _, cs := range cases {
		ct, body := testcluster.Form([][2]string{good}, "placeholder", "data")
		raw := strings.Replace(body.String(), `filename="placeholder"`, `filename="`+cs.body+`"`, 1)
		if r := c.Do("POST", ep, tok, ct, strings.NewReader(raw), nil); r.StatusCode != cs.status {
			t.Errorf("%s: %d %s", cs.name, r.StatusCode, r.Body)
		}
	}
	form := func(fields [][2]string, name, content string) *testcluster.Response {
		ct, body := testcluster.Form(fields, name, content)
		return c.Do("POST", ep, tok, ct, body, nil)
	}
	checks := []struct {
		name string
		r    *testcluster.Response
		want int
	}{
		{"missing file part", form([][2]string{good}, "", ""), 400},
		{"tags not JSON", form([][2]string{{"tags", "[oops"}}, "a.txt", "a"), 400},
		{"tags not strings", form([][2]string{{"tags", "[1,2]"}}, "a.txt", "a"), 400},
		{"metadata not object", form([][2]string{{"metadata", `["a"]`}}, "a.txt", "a"), 400},
		{"metadata not JSON", form([][2]string{{"metadata", `{"a":`}}, "a.txt", "a"), 400},
		{"tags not UTF-8", form([][2]string{{"tags", "[\"a\xffb\"]"}}, "a.txt", "a"), 400},
		{"metadata not UTF-8", form([][2]string{{"metadata", "{\"k\":\"\xff\"}"}}, "a.txt", "a"), 400},
		{"a user's file_id", form([][2]string{{"file_id", "0190d3a8-7c41-7000-8000-000000000001"}}, "a.txt", "a"), 403},
		{"bad file_id", func() *testcluster.Response {
			ct, body := testcluster.Form([][2]string{{"file_id", "123"}}, "a.txt", "a")
			return c.Do("POST", ep, c.AdminToken(), ct, body, nil)
		}(), 400},
		{"bad policy", form([][2]string{{"retention_policy", "forever"}}, "a.txt", "a"), 400},
		{"unknown field", form([][2]string{{"colour", "red"}}, "a.txt", "a"), 400},
		{"huge field", form([][2]string{{"description", strings.Repeat("d", 100<<10)}}, "a.txt", "a"), 413},
		{"not multipart", c.Do("POST", ep, tok, "application/json", strings.NewReader(`{}`), nil), 400},
		{"malformed multipart", c.Do("POST", ep, tok, "multipart/form-data; boundary=xyz", strings.NewReader("--xyz\r\nbroken"), nil), 400},
		{"truncated body", func() *testcluster.Response {
			ct, body := testcluster.Form(nil, "a.txt", strings.Repeat("a", 1000))
			return c.Do("POST", ep, tok, ct, strings.NewReader(body.String()[:body.Len()-50]), nil)
		}(), 400},
		{"field after file", func() *testcluster.Response {
			ct, body := testcluster.Form(nil, "a.txt", "a")
			raw := strings.TrimSuffix(body.String(), "--\r\n")
			b := ct[strings.Index(ct, "boundary=")+9:]
			raw += "\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nlate\r\n--" + b + "--\r\n"
			return c.Do("POST", ep, tok, ct, strings.NewReader(raw), nil)
		}(), 400},
		{"bad file id in path", c.Do("GET", ep+"/not-a-uuid", tok, "", nil, nil), 400},
		{"unknown file", c.Do("GET", ep+"/0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", tok, "", nil, nil), 404},
		{"patch bad JSON", c.Do("PATCH", ep+"/0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", tok, "application/json", strings.NewReader(`{"description":`), nil), 400},
		{"patch not UTF-8", c.Do("PATCH", ep+"/0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", tok, "application/json", strings.NewReader("{\"description\":\"\xff\"}"), nil), 400},
		{"patch unknown field", c.Do("PATCH", ep+"/0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f", tok, "application/json", strings.NewReader(`{"colour":"red"}`), nil), 400},
		{"bad limit", c.Do("GET", ep+"?limit=5000", tok, "", nil, nil), 400},
		{"bad since", c.Do("GET", "/elements/edit-01/api/v1/changes?since=-1", tok, "", nil, nil), 400},
		{"bad wait", c.Do("GET", "/elements/edit-01/api/v1/changes?wait=forever", tok, "", nil, nil), 400},
		{"malformed since", c.Do("GET", "/elements/edit-01/api/v1/changes?since=%ZZ", tok, "", nil, nil), 400},
		{"since twice", c.Do("GET", "/elements/edit-01/api/v1/changes?since=5&since=abc", tok, "", nil, nil), 400},
		{"unknown changes parameter", c.Do("GET", "/elements/edit-01/api/v1/changes?bogus=1", tok, "", nil, nil), 400},
		{"unknown element", c.Do("GET", "/elements/nope/api/v1/info", tok, "", nil, nil), 404},
	}
	for _, ch := range checks {
		if ch.r.StatusCode != ch.want {
			t.Errorf("%s: %d, want %d: %s", ch.name, ch.r.StatusCode, ch.want, ch.r.Body)
		}
		if !strings.HasPrefix(ch.r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: content type %q", ch.name, ch.r.Header.Get("Content-Type"))
		}
	}
	var info artstore.ElementInfo
	c.Do("GET", "/elements/edit-01/api/v1/info", tok, "", nil, nil).JSON(t, &info)
	if info.FileCount != 0 || info.LastSeq != 0 || info.Capacity.Used != 0 {
		t.Fatalf("bad input changed the element: %+v", info)
	}
	// Nothing but the element's identity lies in its folder.
	root := filepath.Join(c.DataDir, "elements", "edit-01", "files")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, "element.json") {
			t.Errorf("bad input left %s", p)
		}
		return nil
	})
}

// TestCapacityOverHTTP fills an element with a 100-byte limit: an upload
// that would exceed it gets 507 and leaves nothing behind.
func TestCapacityOverHTTP(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) {
		for i := range cfg.Elements {
			cfg.Elements[i].Capacity = 100
		}
	})
	tok := c.Account("app", "user")
	mustFile(t, upload(t, c, "rw-01", tok, "a.txt", strings.Repeat("a", 60)), 201)
	if r := upload(t, c, "rw-01", tok, "b.txt", strings.Repeat("b", 60)); r.StatusCode != 507 ||
		!strings.Contains(string(r.Body), "CAPACITY_EXCEEDED") || !strings.Contains(string(r.Body), "element rw-01 has") {
		t.Fatalf("upload past capacity: %d %s", r.StatusCode, r.Body)
	}
	var info artstore.ElementInfo
	c.Do("GET", "/elements/rw-01/api/v1/info", tok, "", nil, nil).JSON(t, &info)
	if info.FileCount != 1 || info.Capacity.Used != 60 || info.Capacity.Available != 40 || info.LastSeq != 1 {
		t.Fatalf("after a refused upload: %+v", info)
	}
	mustFile(t, upload(t, c, "rw-01", tok, "c.txt", strings.Repeat("c", 40)), 201)
}
