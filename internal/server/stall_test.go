package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/config"
	"github.com/artstore/artstore/internal/testcluster"
)

// TestStalledBody sends requests whose bodies stop before the length they
// announce: each is cut off with 408 once nothing arrives for the body idle
// timeout, instead of holding the request open for good, and a stalled
// upload stores nothing. A body that keeps coming, however slowly, is not
// cut off: the timeout bounds each wait, not the whole body.
func TestStalledBody(t *testing.T) {
	c := testcluster.Start(t, func(cfg *config.Config) { cfg.Limits.BodyIdleTimeout = config.Duration(300 * time.Millisecond) })
	tok := c.Account("app", "user")
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	// send writes a request's head and its body, a byte every pause after
	// start, and returns the status of the answer and how long it took.
	send := func(method, path, contentType string, length int, start, rest string, pause time.Duration) (int, time.Duration) {
		t.Helper()
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		begun := time.Now()
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			method, path, u.Host, tok, contentType, length, start)
		for i := range len(rest) {
			time.Sleep(pause)
			conn.Write([]byte{rest[i]})
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s %s: no answer: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(begun)
	}

	if status, took := send("POST", "/api/v1/search", "application/json", 500, "{}", "", 0); status != 408 || took > 5*time.Second {
		t.Errorf("a JSON body that stalls: %d after %v, want 408", status, took)
	}
	boundary := "stall"
	start := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"stall.txt\"\r\n\r\n" + strings.Repeat("x", 1000)
	status, took := send("POST", "/api/v1/files/upload", "multipart/form-data; boundary="+boundary, 1<<20, start, "", 0)
	if status != 408 || took > 5*time.Second {
		t.Errorf("an upload that stalls: %d after %v, want 408", status, took)
	}
	if res := search(t, c, tok, map[string]any{"filename": "stall"}); res.Total != 0 {
		t.Errorf("a stalled upload left %d files", res.Total)
	}
	form := "grant_type=client_credentials&client_id=x&client_secret=y"
	if status, _ := send("POST", "/api/v1/auth/token", "application/x-www-form-urlencoded", len(form), form[:10], "", 0); status != 408 {
		t.Errorf("a token request that stalls: %d, want 408", status)
	}
	// Ten bytes 150 ms apart: 1.5 s in all, five times the timeout.
	body := `{"limit":5}`
	if status, took := send("POST", "/api/v1/search", "application/json", len(body), body[:1], body[1:], 150*time.Millisecond); status != 200 || took < time.Second {
		t.Errorf("a JSON body that trickles in: %d after %v, want 200", status, took)
	}
}
