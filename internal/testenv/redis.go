package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RedisServer is a private redis-server for one test, which the test may
// stop and start again (it keeps nothing on disk, like the machine's own).
type RedisServer struct {
	t    testing.TB
	bin  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	out  bytes.Buffer
}

// Redis starts a redis-server on a free loopback port for the test and
// stops it when the test ends. It skips the test unless ARTSTORE_TEST_REDIS
// is set, and fails it when redis-server is missing or does not start.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	if os.Getenv("ARTSTORE_TEST_REDIS") == "" {
		t.Skip("ARTSTORE_TEST_REDIS not set: skipping Redis tests (set ARTSTORE_TEST_REDIS=1 to run them against a private redis-server)")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH: %v", err)
	}
	addr, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	r := &RedisServer{t: t, bin: bin, addr: addr}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the server's redis:// URL.
func (r *RedisServer) URL() string { return "redis://" + r.addr + "/0" }

// Start starts the server (again) on its port and waits until it listens.
func (r *RedisServer) Start() {
	r.t.Helper()
	if r.cmd != nil {
		return
	}
	_, port, _ := strings.Cut(r.addr, ":")
	r.out.Reset()
	cmd := exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", r.addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			r.cmd, r.done = cmd, done
			return
		}
		select {
		case <-done:
			r.t.Fatalf("redis-server exited: %s", r.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			r.t.Fatal(fmt.Sprintf("redis-server did not listen on %s: %s", r.addr, r.out.String()))
		}
	}
}

// Stop kills the server; whatever it held is gone.
func (r *RedisServer) Stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}
