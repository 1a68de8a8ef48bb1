// Package e2e tests the real artstore binary: it builds it, starts it as a
// user would, and drives it over HTTP, including killing it mid-request.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/testcluster"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "artstore-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "artstore")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/artstore")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building artstore:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running artstore server.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	url    string
	data   string
	stdout *bytes.Buffer
	stderr *bytes.Buffer
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `artstore serve` on a free port with data under dir and waits
// until it is ready.
func start(t testing.TB, dir string, args ...string) *proc {
	t.Helper()
	return startWith(t, dir, freeAddr(t), nil, args...)
}

// startWith runs `artstore serve` on addr with extra environment variables.
func startWith(t testing.TB, dir, addr string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, url: "http://" + addr, data: dir, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	p.cmd = exec.Command(binary, append([]string{"serve", "--listen", addr, "--data", dir, "--log-format", "json"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not become ready; stderr:\n%s", p.stderr)
	return nil
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Fatalf("server exited with %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("server did not stop on SIGTERM")
	}
}

func (p *proc) token() string {
	p.t.Helper()
	id, secret := testcluster.Credentials(p.t, p.data)
	status, tok := testcluster.Token(p.t, p.url, id, secret)
	if tok == "" {
		p.t.Fatalf("no token: %d", status)
	}
	return tok
}

func (p *proc) get(path, token string, out any) int {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if w, ok := out.(io.Writer); ok {
			io.Copy(w, resp.Body)
		} else {
			json.NewDecoder(resp.Body).Decode(out)
		}
	}
	return resp.StatusCode
}

// TestServeDefaults starts the binary as the README says and checks the
// bootstrap credentials, the health endpoints and a graceful stop.
func TestServeDefaults(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	st, err := os.Stat(filepath.Join(dir, "bootstrap-credentials.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	if !strings.Contains(p.stdout.String(), "client_secret") || !strings.Contains(p.stdout.String(), "bootstrap-admin.json") {
		t.Fatalf("credentials not printed on first start: %q", p.stdout)
	}
	if st, err := os.Stat(filepath.Join(dir, "bootstrap-admin.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap-admin.json: %v %v", st, err)
	}
	tok := p.token()
	for _, path := range []string{"/health/live", "/metrics", "/api/v1/openapi.json"} {
		if code := p.get(path, "", nil); code != 200 {
			t.Errorf("%s: %d", path, code)
		}
	}
	var info struct {
		Mode string `json:"mode"`
	}
	if code := p.get("/elements/edit-01/api/v1/info", tok, &info); code != 200 || info.Mode != "edit" {
		t.Fatalf("edit-01: %d %+v", code, info)
	}
	if code := p.get("/elements/rw-01/api/v1/info", tok, &info); code != 200 || info.Mode != "rw" {
		t.Fatalf("rw-01: %d %+v", code, info)
	}
	p.stop()
	// The second start reuses the account and prints no secret.
	p2 := start(t, dir)
	if strings.Contains(p2.stdout.String(), "client_secret") || strings.Contains(p2.stdout.String(), "password") {
		t.Fatalf("credentials printed again: %q", p2.stdout)
	}
	p2.token()
	p2.stop()
}

// TestGracefulStop sends SIGTERM while an upload is in flight: the upload
// still completes with 201, the server exits cleanly, and the file is there
// after a restart.
func TestGracefulStop(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	tok := p.token()
	const size = 4 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sent := make(chan struct{})
	go func() {
		fw, _ := mw.CreateFormFile("file", "inflight.bin")
		src := content(7, size)
		io.CopyN(fw, src, 1<<20)
		close(sent)
		// The rest follows after the signal.
		time.Sleep(500 * time.Millisecond)
		_, err := io.Copy(fw, slow{src, 2 * time.Millisecond})
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	type result struct {
		code int
		u    uploaded
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", p.url+"/elements/rw-01/api/v1/files", pr)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var u uploaded
		json.NewDecoder(resp.Body).Decode(&u)
		done <- result{code: resp.StatusCode, u: u}
	}()
	<-sent
	time.Sleep(100 * time.Millisecond)
	p.stop() // SIGTERM, then waits for a clean exit
	r := <-done
	if r.err != nil || r.code != 201 {
		t.Fatalf("in-flight upload during SIGTERM: %d %v", r.code, r.err)
	}
	if r.u.Checksum != checksum(7, size) {
		t.Fatalf("checksum %s", r.u.Checksum)
	}
	p2 := start(t, dir)
	h := sha256.New()
	var w io.Writer = h
	if code := p2.get("/elements/rw-01/api/v1/files/"+r.u.FileID+"/download", p2.token(), w); code != 200 || hex.EncodeToString(h.Sum(nil)) != r.u.Checksum {
		t.Fatalf("after restart: %d", code)
	}
	p2.stop()
}
