package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/testcluster"
)

// cli runs the artstore binary as a client with its own config directory.
type cli struct {
	t      *testing.T
	server string
	home   string
}

func (c *cli) run(stdin string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.home, "ARTSTORE_SERVER="+c.server, "ARTSTORE_CLIENT_SECRET=", "ARTSTORE_CLIENT_ID=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String() + errb.String(), code
}

func (c *cli) json(v any, args ...string) {
	c.t.Helper()
	out, code := c.run("", append(args, "--json")...)
	if code != 0 {
		c.t.Fatalf("artstore %v: exit %d: %s", args, code, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("artstore %v: %v: %s", args, err, out)
	}
}

// TestCLIRoundTrip logs in, uploads, searches, downloads with resume,
// finalizes and deletes with the command line, and checks its exit codes.
func TestCLIRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	c := &cli{t: t, server: p.url, home: t.TempDir()}
	work := t.TempDir()

	if _, code := c.run("", "search", "x"); code != 5 {
		t.Fatalf("search before login: exit %d", code)
	}
	id, secret := testcluster.Credentials(t, dir)
	if out, code := c.run("wrong\n", "login", "--client-id", id); code != 5 {
		t.Fatalf("login with a wrong secret: exit %d: %s", code, out)
	}
	if out, code := c.run(secret+"\n", "login", "--client-id", id); code != 0 {
		t.Fatalf("login: exit %d: %s", code, out)
	}
	st, err := os.Stat(filepath.Join(c.home, "artstore", "credentials.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}

	big := bytes.Repeat([]byte("archive-"), 200000) // 1.6 MB
	for name, data := range map[string][]byte{"report.bin": big, "note.txt": []byte("a short note")} {
		os.WriteFile(filepath.Join(work, name), data, 0o644)
	}
	var up []fileMeta
	c.json(&up, "upload", "--tag", "cli", "--meta", "team=ops", "--description", "nightly",
		filepath.Join(work, "report.bin"), filepath.Join(work, "note.txt"))
	if len(up) != 2 || up[0].StorageElementID != "edit-01" {
		t.Fatalf("upload: %+v", up)
	}
	var perm []fileMeta
	c.json(&perm, "upload", "--permanent", filepath.Join(work, "note.txt"))
	if perm[0].StorageElementID != "rw-01" {
		t.Fatalf("permanent upload: %+v", perm)
	}
	var res struct {
		Items []fileMeta
		Total int
	}
	c.json(&res, "search", "--tag", "cli", "--meta", "team=ops", "--sort", "size")
	if res.Total != 2 {
		t.Fatalf("search: %+v", res)
	}
	c.json(&res, "search", "nightly", "--ext", "bin")
	if res.Total != 1 || res.Items[0].FileID != up[0].FileID {
		t.Fatalf("search by text and extension: %+v", res)
	}

	// A partial download is resumed and the whole is verified.
	dst := filepath.Join(work, "copy.bin")
	os.WriteFile(dst+".part", big[:700000], 0o644)
	if out, code := c.run("", "get", up[0].FileID, "-o", dst); code != 0 {
		t.Fatalf("get: exit %d: %s", code, out)
	}
	got, _ := os.ReadFile(dst)
	sum := sha256.Sum256(got)
	if !bytes.Equal(got, big) || hex.EncodeToString(sum[:]) != up[0].Checksum {
		t.Fatalf("resumed download differs (%d bytes)", len(got))
	}
	if _, err := os.Stat(dst + ".part"); !os.IsNotExist(err) {
		t.Fatal("the part file was left behind")
	}
	// A corrupt part is caught by the checksum and removed.
	bad := filepath.Join(work, "bad.bin")
	os.WriteFile(bad+".part", bytes.Repeat([]byte("X"), 1000), 0o644)
	if _, code := c.run("", "get", up[0].FileID, "-o", bad); code != 6 {
		t.Fatalf("get over a corrupt part: exit %d", code)
	}
	if out, code := c.run("", "get", up[0].FileID, "-o", bad); code != 0 {
		t.Fatalf("get after the corrupt part was dropped: exit %d: %s", code, out)
	}

	var fin []fileMeta
	c.json(&fin, "finalize", up[0].FileID)
	if fin[0].StorageElementID != "rw-01" || fin[0].RetentionPolicy != "permanent" {
		t.Fatalf("finalize: %+v", fin)
	}
	if out, code := c.run("", "rm", up[1].FileID); code != 0 {
		t.Fatalf("rm: exit %d: %s", code, out)
	}
	if _, code := c.run("", "get", up[1].FileID, "-o", filepath.Join(work, "gone")); code != 4 {
		t.Fatalf("get of a deleted file: exit %d", code)
	}
	if _, code := c.run("", "info", "0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f"); code != 4 {
		t.Fatalf("info of an unknown file: exit %d", code)
	}
	if _, code := c.run("", "upload", "--permanent", "--ttl", "3", filepath.Join(work, "note.txt")); code != 2 {
		t.Fatalf("upload with --permanent and --ttl: exit %d", code)
	}
	var info fileMeta
	c.json(&info, "info", up[0].FileID)
	if info.FileID != up[0].FileID || info.RetentionPolicy != "permanent" {
		t.Fatalf("info: %+v", info)
	}
}

// TestCLIFailures checks how the command line fails: every argument of a
// command is tried and the ones that worked are still reported, bad
// arguments exit 2, a refused cached token is replaced, and the stored
// secret never goes to a server other than the one logged in to.
func TestCLIFailures(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	c := &cli{t: t, server: p.url, home: t.TempDir()}
	work := t.TempDir()
	id, secret := testcluster.Credentials(t, dir)
	// A configuration directory others may read is tightened.
	if err := os.Mkdir(filepath.Join(c.home, "artstore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, code := c.run(secret+"\n", "login", "--client-id", id); code != 0 {
		t.Fatalf("login: exit %d: %s", code, out)
	}
	if st, err := os.Stat(filepath.Join(c.home, "artstore")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the configuration directory after login: %v, %v", st.Mode(), err)
	}
	a, b := filepath.Join(work, "a.txt"), filepath.Join(work, "b.txt")
	os.WriteFile(filepath.Join(work, "line\nbreak.txt"), []byte("x"), 0o644)
	os.WriteFile(a, []byte("first"), 0o644)
	os.WriteFile(b, []byte("second"), 0o644)

	// A missing file and a directory among good ones: the good ones are
	// stored and listed, and the exit code is that of the first failure.
	cmd := exec.Command(binary, "upload", "--json", a, filepath.Join(work, "missing"), work, b)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.home, "ARTSTORE_SERVER="+c.server)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 4 {
		t.Fatalf("upload with a missing file: %v, want exit 4: %s", err, stderr.String())
	}
	var up []fileMeta
	if err := json.Unmarshal(stdout.Bytes(), &up); err != nil || len(up) != 2 || up[1].OriginalFilename != "b.txt" {
		t.Fatalf("upload listed %s (%v), want a.txt and b.txt", stdout.String(), err)
	}
	if !strings.Contains(stderr.String(), "2 of 4 failed") {
		t.Errorf("upload stderr: %s", stderr.String())
	}

	for _, args := range [][]string{
		{"get"}, {"info"}, {"search", "a", "b"}, {"finalize"},
		{"upload", "--ttl", "-1", a}, {"upload", "--ttl", "366", a}, {"upload", "--ttl", "0", a},
		{"search", "--sort", "bogus"}, {"search", "--limit", "-1"},
		{"upload", filepath.Join(work, "line\nbreak.txt")}, {"upload", filepath.Join(work, "invoice\u202efdp.exe")},
	} {
		if out, code := c.run("", args...); code != 2 {
			t.Errorf("artstore %v: exit %d, want 2: %s", args, code, out)
		}
	}
	// A file id is one path segment, whatever it holds.
	if out, code := c.run("", "info", up[0].FileID+"/download"); code == 0 {
		t.Errorf("info of an id with a slash: exit 0: %s", out)
	}

	// rm of a known and an unknown file: the known one is deleted.
	out, code := c.run("", "rm", "--json", up[0].FileID, "0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f")
	if code != 4 || !strings.Contains(out, "[]") {
		t.Errorf("rm of a known and an unknown file: exit %d: %s", code, out)
	}
	if _, code := c.run("", "info", up[0].FileID); code != 4 {
		t.Errorf("info after rm: exit %d, want 4", code)
	}

	// Into an existing directory, get writes under the original name.
	into := t.TempDir()
	if out, code := c.run("", "get", up[1].FileID, "-o", into); code != 0 {
		t.Fatalf("get into a directory: exit %d: %s", code, out)
	}
	if got, err := os.ReadFile(filepath.Join(into, "b.txt")); string(got) != "second" {
		t.Errorf("get into a directory wrote %q, %v", got, err)
	}
	// A refused download leaves no part behind.
	if _, code := c.run("", "get", up[0].FileID, "-o", filepath.Join(into, "gone")); code != 4 {
		t.Errorf("get of a deleted file: exit %d, want 4", code)
	}
	if entries, _ := os.ReadDir(into); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want b.txt alone", len(entries))
	}

	// A cached token the server refuses is replaced at once.
	credsPath := filepath.Join(c.home, "artstore", "credentials.json")
	var creds map[string]any
	raw, _ := os.ReadFile(credsPath)
	json.Unmarshal(raw, &creds)
	creds["access_token"] = "forged.token.value"
	raw, _ = json.Marshal(creds)
	os.WriteFile(credsPath, raw, 0o600)
	if out, code := c.run("", "search", "--name", "b.txt"); code != 0 || !strings.Contains(out, "b.txt") {
		t.Fatalf("search with a refused cached token: exit %d: %s", code, out)
	}
	if raw, _ = os.ReadFile(credsPath); strings.Contains(string(raw), "forged") {
		t.Error("the refused token is still cached")
	}

	// Another server gets neither the secret nor the default.
	var calls atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte(`{"access_token":"theirs","expires_in":3600}`))
	}))
	defer other.Close()
	if out, code := c.run("", "search", "--server", other.URL); code != 5 || !strings.Contains(out, "artstore login --server") {
		t.Errorf("search on another server: exit %d, want 5: %s", code, out)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the other server got %d requests", n)
	}
	raw, _ = os.ReadFile(credsPath)
	if !strings.Contains(string(raw), p.url) {
		t.Errorf("the credentials no longer name the server logged in to: %s", raw)
	}
	// Damaged credentials ask for a new login.
	os.WriteFile(credsPath, []byte("{not json"), 0o600)
	if out, code := c.run("", "search"); code != 5 || !strings.Contains(out, "artstore login") {
		t.Errorf("search with damaged credentials: exit %d, want 5: %s", code, out)
	}

	// An interrupt while login waits for the secret on standard input
	// ends it.
	login := exec.Command(binary, "login", "--client-id", id)
	login.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.home, "ARTSTORE_SERVER="+c.server, "ARTSTORE_CLIENT_SECRET=")
	stdin, _ := login.StdinPipe()
	defer stdin.Close()
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	login.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- login.Wait() }()
	select {
	case <-exited:
		if code := login.ProcessState.ExitCode(); code != 1 {
			t.Errorf("interrupted login: exit %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		login.Process.Kill()
		t.Error("login waiting for its secret ignored an interrupt")
	}
}
