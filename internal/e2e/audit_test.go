package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/sqldb"
)

// TestAuditVerifyCommand checks `artstore audit verify` on an intact and
// on a tampered log: exit 0, then exit 3 naming the first broken record.
func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	tok := p.token()
	p.account(tok, "a", "user")
	p.account(tok, "b", "user")
	p.stop()
	run := func() (string, int) {
		out, err := exec.Command(binary, "audit", "verify", "--data", dir).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run(); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("intact log: exit %d: %s", code, out)
	}
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "admin.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Delete a record in the middle.
	if _, err := db.Exec(`DELETE FROM audit_records WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, code := run(); code != 3 || !strings.Contains(out, "BROKEN at record 2") {
		t.Fatalf("tampered log: exit %d: %s", code, out)
	}
}
