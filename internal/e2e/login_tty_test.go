//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/artstore/artstore/internal/testcluster"
)

// TestCLILoginAtTerminal runs `artstore login` at a terminal (a
// pseudo-terminal): it asks for the secret without echoing it, logs in with
// it, and when interrupted while it waits puts the terminal back as it was,
// echo on.
func TestCLILoginAtTerminal(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	id, secret := testcluster.Credentials(t, dir)
	home := t.TempDir()
	master, tty := openPTY(t)
	echo := func() bool {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		return tio.Lflag&unix.ECHO != 0
	}
	login := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(binary, "login", "--client-id", id)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "ARTSTORE_SERVER="+p.url, "ARTSTORE_CLIENT_SECRET=", "ARTSTORE_CLIENT_ID=")
		var out bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &out
		// Its own session, with the terminal as its controlling one, so
		// that Ctrl-C typed there reaches it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// It asks once it has turned echo off.
		deadline := time.Now().Add(10 * time.Second)
		for echo() {
			if time.Now().After(deadline) {
				t.Fatal("login never turned echo off")
			}
			time.Sleep(10 * time.Millisecond)
		}
		return cmd, &out
	}

	cmd, out := login()
	if _, err := master.WriteString(secret + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login at a terminal: %v: %s", err, out)
	}
	if !strings.Contains(out.String(), "Client secret:") || !strings.Contains(out.String(), "logged in") {
		t.Errorf("login at a terminal said %q", out)
	}
	master.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	shown := make([]byte, 4096)
	n, _ := master.Read(shown)
	if bytes.Contains(shown[:n], []byte(secret)) {
		t.Errorf("the terminal showed the secret: %q", shown[:n])
	}
	if !echo() {
		t.Errorf("echo is off after the login")
	}

	cmd, out = login()
	if _, err := master.WriteString("\x03"); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("an interrupted login succeeded: %s", out)
	}
	if !echo() {
		t.Errorf("echo is off after an interrupted login: %s", out)
	}
}

// openPTY opens a pseudo-terminal and returns its master side, which
// plays the user's keyboard and screen, and its terminal side.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}
