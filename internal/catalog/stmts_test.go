package catalog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/testenv"
)

// TestStmts checks the cache of prepared statements: a statement runs
// right away the first time, is prepared in the background and then
// reused, gives the same rows either way, and the cache stops growing at
// maxStmts however many texts it sees.
func TestStmts(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t, "stmts.db")
	s := newStmts(db.DB)
	one := func(query string) int {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var n int
		if err := s.queryRow(ctx, tx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	settle := func() {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, "the statements being prepared", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.pending) == 0
		})
	}

	if n := one("SELECT 7"); n != 7 {
		t.Fatalf("unprepared: got %d", n)
	}
	settle()
	if s.ready["SELECT 7"] == nil {
		t.Fatal("the statement was not prepared after its first run")
	}
	if n := one("SELECT 7"); n != 7 {
		t.Fatalf("prepared: got %d", n)
	}

	for i := range maxStmts + 100 {
		if n := one(fmt.Sprintf("SELECT %d", i)); n != i {
			t.Fatalf("SELECT %d gave %d", i, n)
		}
	}
	settle()
	if len(s.ready) != maxStmts {
		t.Errorf("%d statements cached, want the bound %d", len(s.ready), maxStmts)
	}
	if n := one(fmt.Sprintf("SELECT %d", maxStmts+50)); n != maxStmts+50 {
		t.Errorf("a statement beyond the bound gave %d", n)
	}
}
