package sqldb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

// TestPoolSize opens PostgreSQL with and without pool_max_conns: the
// parameter sizes the pool and never reaches the server, which would
// refuse it; a bad value is refused before anything is opened.
func TestPoolSize(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	for _, c := range []struct {
		param string
		want  int
	}{
		{"", sqldb.DefaultPoolSize},
		{"&pool_max_conns=3", 3},
		{"&pool_max_conns=1", 1},
	} {
		db, err := sqldb.Open(ctx, dsn+c.param)
		if err != nil {
			t.Fatalf("Open(%q): %v", c.param, err)
		}
		if got := db.Stats().MaxOpenConnections; got != c.want {
			t.Errorf("Open(%q): pool of %d, want %d", c.param, got, c.want)
		}
		// Another parameter of the DSN still reaches the server.
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil || !strings.HasPrefix(schema, "t_") {
			t.Errorf("Open(%q): schema %q, %v; want the test's own", c.param, schema, err)
		}
		db.Close()
	}
	for _, bad := range []string{"0", "-1", "x", "1001", "2&pool_max_conns=3", ""} {
		_, err := sqldb.Open(ctx, dsn+"&pool_max_conns="+bad)
		if !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("pool_max_conns=%s: %v, want an invalid-argument error naming it", bad, err)
		}
	}
}
