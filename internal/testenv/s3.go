package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/blob/s3"
)

// Credentials of the root account of the test gateway.
const (
	s3AccessKey = "testkey"
	s3SecretKey = "testsecret123"
)

// startTimeout bounds how long S3 waits for the gateway to listen.
const startTimeout = 15 * time.Second

// gateway is the one versitygw process of this test binary.
var gateway struct {
	once sync.Once
	err  error // from starting it; reported to every caller
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// S3 returns the configuration of a fresh bucket and prefix on a versitygw
// gateway shared by all tests of the binary. It skips the test unless
// ARTSTORE_TEST_S3 is set, and fails it if versitygw cannot be found or
// started. The bucket does not exist yet: s3.Open creates it.
func S3(t testing.TB) s3.Config {
	t.Helper()
	if os.Getenv("ARTSTORE_TEST_S3") == "" {
		t.Skip("ARTSTORE_TEST_S3 not set: skipping S3 tests (set ARTSTORE_TEST_S3=1 to run them against versitygw)")
	}
	if !inMain.Load() {
		t.Fatal("testenv.S3 needs the package's TestMain to call testenv.Main, which stops the gateway")
	}
	gateway.once.Do(startS3)
	if gateway.err != nil {
		t.Fatalf("starting versitygw: %v", gateway.err)
	}
	return s3.Config{
		Endpoint:  "http://" + gateway.addr,
		Bucket:    randomName("t-"),
		Prefix:    randomName("p-"),
		AccessKey: s3AccessKey,
		SecretKey: s3SecretKey,
		Region:    "us-east-1",
	}
}

// findVersitygw looks for the binary on PATH and then where `go install`
// puts it.
func findVersitygw() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found on PATH or in $GOPATH/bin (install it with `go install github.com/versity/versitygw/cmd/versitygw@latest`)")
}

// startS3 starts the gateway on a free loopback port, serving a new
// temporary directory, and waits until it accepts connections.
func startS3() {
	bin, err := findVersitygw()
	if err != nil {
		gateway.err = err
		return
	}
	dir, err := os.MkdirTemp("", "artstore-versitygw-")
	if err != nil {
		gateway.err = err
		return
	}
	gateway.dir = dir
	// The port is free when we pick it but could be taken before the
	// gateway binds it; a gateway that exits at once is retried.
	for attempt := 0; attempt < 3; attempt++ {
		if err = startS3Once(bin, dir); err == nil {
			return
		}
	}
	gateway.err = err
}

func startS3Once(bin, dir string) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.Command(bin,
		"--access", s3AccessKey, "--secret", s3SecretKey,
		"--port", addr, "--quiet",
		"posix", dir)
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err == nil {
			conn.Close()
			gateway.addr, gateway.cmd, gateway.done = addr, cmd, done
			return nil
		}
		select {
		case <-done:
			// out is safe to read: Wait has copied all output.
			return fmt.Errorf("versitygw exited: %v\n%s", cmd.ProcessState, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("versitygw did not listen on %s within %v\n%s", addr, startTimeout, out.String())
		}
	}
}

// freePort returns a loopback address with a port nobody listens on.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stopS3 kills the gateway, if one was started, and removes its data.
func stopS3() {
	if gateway.cmd != nil {
		gateway.cmd.Process.Kill()
		<-gateway.done
		gateway.cmd = nil
	}
	if gateway.dir != "" {
		os.RemoveAll(gateway.dir)
		gateway.dir = ""
	}
}
