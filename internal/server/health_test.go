package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/server"
	"github.com/artstore/artstore/internal/testcluster"
)

// TestReadiness checks /health/ready: ready with every check ok, then 503
// naming the element whose backend no longer holds its identity.
func TestReadiness(t *testing.T) {
	c := testcluster.Start(t)
	ready := func() (int, map[string]string) {
		t.Helper()
		r := c.Do("GET", "/health/ready", "", "", nil, nil)
		var body struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("ready: %d %s", r.StatusCode, r.Body)
		}
		return r.StatusCode, body.Checks
	}
	if code, checks := ready(); code != 200 || checks["element edit-01"] != "ok" || checks["admin database"] != "ok" {
		t.Fatalf("ready: %d %v", code, checks)
	}
	ec := c.Config.Elements[0]
	if err := os.Remove(filepath.Join(ec.Path, ".artstore", "element.json")); err != nil {
		t.Fatal(err)
	}
	code, checks := ready()
	if code != 503 || !strings.HasPrefix(checks["element "+ec.ID], "unavailable") || checks["element rw-01"] != "ok" {
		t.Fatalf("ready with %s's identity gone: %d %v", ec.ID, code, checks)
	}
}

// TestElementLock checks that an element a server runs cannot be opened a
// second time, by an offline command as by another server.
func TestElementLock(t *testing.T) {
	c := testcluster.Start(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, closeEl, err := server.OpenElement(context.Background(), c.Config, "edit-01", log)
	if err == nil {
		closeEl()
		t.Fatal("opened an element the running server holds")
	}
	if !errs.Is(errs.Conflict, err) {
		t.Fatalf("second open: %v, want a conflict", err)
	}
}
