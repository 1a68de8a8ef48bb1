package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Postgres returns a DSN for a new, empty schema on the PostgreSQL server
// named by ARTSTORE_TEST_POSTGRES, and drops the schema with everything in
// it when the test ends. It skips the test unless that variable is set, and
// fails it if the server cannot be reached.
//
// The schema isolates tests from each other and from earlier runs: the DSN
// sets search_path to it, so unqualified names, including the tables
// migrations create, land there.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ARTSTORE_TEST_POSTGRES")
	if base == "" {
		t.Skip("ARTSTORE_TEST_POSTGRES not set: skipping PostgreSQL tests (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	schema := randomName("t_")
	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("ARTSTORE_TEST_POSTGRES: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("opening %s: %v", base, err)
	}
	defer db.Close()
	// The schema name is our own random identifier, so quoting it is
	// enough to make the statement safe.
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatalf("creating schema on %s: %v", base, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return dsn
}

// withSearchPath adds search_path=schema to a DSN, either a postgres:// URL,
// where pgx takes run-time parameters from the query, or a key=value
// connection string.
func withSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
