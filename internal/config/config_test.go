package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/artstore"
)

func TestDefaults(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.DataDir != "./artstore-data" || len(c.Elements) != 2 {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Elements[0].Path != filepath.Join("artstore-data", "elements", "edit-01", "files") {
		t.Fatalf("element path %q", c.Elements[0].Path)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("listen: 0.0.0.0:1\nelements:\n  - id: a\n    mode: rw\n    capacity: 10GiB\n    s3: {endpoint: http://x, bucket: b}\n"), 0o600)
	c := Default()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ARTSTORE_LISTEN": "0.0.0.0:2", "ARTSTORE_S3_SECRET_KEY": "s3cret", "ARTSTORE_ROLES": "storage", "ARTSTORE_JWKS_URL": "http://a/jwks"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:2" || len(c.Elements) != 1 || c.Elements[0].Capacity != 10<<30 || c.Elements[0].S3.SecretKey != "s3cret" || c.Has(RoleAdmin) {
		t.Fatalf("merged: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]func(*Config){
		"no listen":     func(c *Config) { c.Listen = "" },
		"bad role":      func(c *Config) { c.Roles = []string{"cook"} },
		"bad mode":      func(c *Config) { c.Elements[0].Mode = "wr" },
		"dup id":        func(c *Config) { c.Elements[1].ID = c.Elements[0].ID },
		"slash id":      func(c *Config) { c.Elements[0].ID = "a/b" },
		"no jwks":       func(c *Config) { c.Roles = []string{RoleStorage} },
		"path and s3":   func(c *Config) { c.Elements[0].Path = "/x"; c.Elements[0].S3 = &S3{Endpoint: "e", Bucket: "b"} },
		"bad log":       func(c *Config) { c.Log.Format = "xml" },
		"negative size": func(c *Config) { c.Elements[0].Capacity = -1 },
	}
	for name, mod := range cases {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseElement(t *testing.T) {
	e, err := ParseElement("id=se-9,mode=rw,priority=5,capacity=1.5GB,s3-endpoint=http://127.0.0.1:7070,s3-bucket=b,s3-prefix=p")
	if err != nil || e.ID != "se-9" || e.Mode != artstore.ModeRW || e.Priority != 5 || e.Capacity != 1_500_000_000 || e.S3.Bucket != "b" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, bad := range []string{"id", "id=x,colour=red", "id=x,capacity=lots", "id=x,priority=high"} {
		if _, err := ParseElement(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestDocumented keeps docs/configuration.md in step with the environment
// variables the code reads.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Env {
		if !strings.Contains(string(doc), "`"+e.Name+"`") {
			t.Errorf("docs/configuration.md does not document %s", e.Name)
		}
	}
}

// TestConsumerDefault checks that two processes on one host get consumer
// names of their own on the event bus, so that neither misses events.
func TestConsumerDefault(t *testing.T) {
	a, b := Default(), Default()
	b.Listen = "127.0.0.1:8081"
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Bus.Consumer == b.Bus.Consumer {
		t.Errorf("processes listening on %s and %s share the consumer %q", a.Listen, b.Listen, a.Bus.Consumer)
	}
}

// TestSQLiteNamedPostgres checks that a SQLite file whose name starts with
// "postgres" is still a SQLite file: elements and the catalog keep
// databases of their own beside it.
func TestSQLiteNamedPostgres(t *testing.T) {
	c := Default()
	c.DatabaseURL = filepath.Join(t.TempDir(), "postgres-admin.db")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.CatalogURL == c.DatabaseURL || c.Elements[0].DatabaseURL == c.DatabaseURL {
		t.Errorf("catalog %q and element %q share the SQLite file %q", c.CatalogURL, c.Elements[0].DatabaseURL, c.DatabaseURL)
	}
}
