package testenv

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/url"
	"testing"

	"github.com/artstore/artstore/internal/blob/s3"
)

func TestMain(m *testing.M) { Main(m) }

// TestPostgres checks that the DSN Postgres returns puts new tables in the
// test's own schema.
func TestPostgres(t *testing.T) {
	dsn := Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if schema == "" {
		t.Fatalf("DSN %s has no search_path", dsn)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE things (id int PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO things VALUES (1, 'one')`); err != nil {
		t.Fatal(err)
	}
	var name, in string
	err = db.QueryRowContext(ctx, `SELECT t.name, c.table_schema FROM things t, information_schema.tables c WHERE c.table_name = 'things' AND c.table_schema = current_schema()`).Scan(&name, &in)
	if err != nil {
		t.Fatal(err)
	}
	if name != "one" || in != schema {
		t.Errorf("read %q from schema %q, want %q from %q", name, in, "one", schema)
	}
}

func TestWithSearchPath(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s&sslmode=disable"},
		{"postgresql://h/db", "postgresql://h/db?search_path=s"},
		{"host=h dbname=db", "host=h dbname=db search_path=s"},
	}
	for _, c := range cases {
		got, err := withSearchPath(c.in, "s")
		if err != nil || got != c.want {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestS3 checks that the shared gateway serves fresh buckets to each caller.
func TestS3(t *testing.T) {
	ctx := context.Background()
	cfg1, cfg2 := S3(t), S3(t)
	if cfg1.Bucket == cfg2.Bucket || cfg1.Prefix == cfg2.Prefix {
		t.Errorf("two calls share bucket or prefix: %+v, %+v", cfg1, cfg2)
	}
	if cfg1.Endpoint != cfg2.Endpoint {
		t.Errorf("two calls got different gateways: %s, %s", cfg1.Endpoint, cfg2.Endpoint)
	}
	b, err := s3.Open(ctx, cfg1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Put(ctx, "hello", bytes.NewReader([]byte("world")), 5); err != nil {
		t.Fatal(err)
	}
	rc, err := b.Get(ctx, "hello", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "world" {
		t.Errorf("read back %q", got)
	}
}
