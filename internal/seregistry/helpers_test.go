package seregistry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/mem"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sehttp"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/storage"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// The tokens the test authenticator knows.
const (
	adminToken  = "admin-token"
	readerToken = "reader-token"
)

// tokenAuth accepts two fixed tokens, one per role the registry's API
// distinguishes, so that tests exercise the real role checks without a
// token service.
type tokenAuth struct{}

func (tokenAuth) Authenticate(_ context.Context, tok string) (artstore.Principal, error) {
	switch tok {
	case adminToken:
		return artstore.Principal{Subject: "test-admin", Name: "admin", Role: artstore.RoleAdmin}, nil
	case readerToken:
		return artstore.Principal{Subject: "test-reader", Name: "reader", Role: artstore.RoleReadonly}, nil
	}
	return artstore.Principal{}, errs.E(errs.Unauthenticated, errs.Msg("unknown token"))
}

// dialects runs fn on a fresh SQLite database and on a fresh PostgreSQL
// schema. The PostgreSQL run skips, loudly, unless ARTSTORE_TEST_POSTGRES
// names a server.
func dialects(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openDB(t, filepath.Join(t.TempDir(), "admin.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, openDB(t, testenv.Postgres(t))) })
}

func openDB(t testing.TB, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// quiet is a logger for registries under test: their warnings about
// offline elements are expected and would only clutter the output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openRegistry(t testing.TB, db *sqldb.DB, cfg seregistry.Config) *seregistry.Registry {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	r, err := seregistry.Open(ctx, db, api.StaticToken(adminToken), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

// element is a real storage element on a memory backend, served over HTTP
// on an address that survives restarts of its server.
type element struct {
	t       testing.TB
	id      string
	el      *storage.Element
	backend blob.Backend
	db      *sqldb.DB
	addr    string
	srv     *httptest.Server
}

// elementConfig describes an element to start.
type elementConfig struct {
	id       string
	mode     artstore.Mode
	priority int
	capacity int64
}

func startElement(t testing.TB, cfg elementConfig) *element {
	t.Helper()
	e := &element{t: t, id: cfg.id, backend: mem.New(), db: openDB(t, filepath.Join(t.TempDir(), cfg.id+".db"))}
	e.open(cfg)
	e.serve("127.0.0.1:0")
	t.Cleanup(func() {
		e.stop()
		e.el.Close()
	})
	return e
}

// open opens the element's storage, on the same backend and index as any
// earlier opening, as a restarted process would.
func (e *element) open(cfg elementConfig) {
	e.t.Helper()
	el, err := storage.Open(ctx, storage.Config{ID: cfg.id, Mode: cfg.mode, Priority: cfg.priority, Capacity: cfg.capacity, Logger: quiet}, e.backend, e.db)
	if err != nil {
		e.t.Fatalf("opening element %s: %v", cfg.id, err)
	}
	if e.el != nil {
		e.el.Close()
	}
	e.el = el
}

// url is the element's base URL.
func (e *element) url() string { return "http://" + e.addr }

// serve starts serving the element on addr, retrying briefly while the
// address of a just-closed server is still being released.
func (e *element) serve(addr string) {
	e.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for range 50 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("listening on %s: %v", addr, err)
	}
	e.addr = ln.Addr().String()
	e.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: sehttp.NewHandler(e.el, tokenAuth{}).Router()}}
	e.srv.Start()
}

// stop closes the element's server, so that its address refuses
// connections.
func (e *element) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

// restart serves the element again on its old address.
func (e *element) restart() {
	e.t.Helper()
	e.stop()
	e.serve(e.addr)
}

// upload stores n small files on the element.
func (e *element) upload(n int) []string {
	e.t.Helper()
	var ids []string
	for i := range n {
		f, err := e.el.Upload(ctx, artstore.NewFile{
			Filename:        fmt.Sprintf("f%d.txt", i),
			Size:            -1,
			RetentionPolicy: retentionFor(e.el),
		}, strings.NewReader("some content"))
		if err != nil {
			e.t.Fatalf("upload to %s: %v", e.id, err)
		}
		ids = append(ids, f.FileID)
	}
	return ids
}

func retentionFor(el *storage.Element) artstore.RetentionPolicy {
	if el.Mode() == artstore.ModeRW {
		return artstore.Permanent
	}
	return artstore.Temporary
}

// wantKind fails the test unless err has kind (and code, when not empty).
func wantKind(t testing.TB, err error, kind errs.Kind, code string) {
	t.Helper()
	if !errs.Is(kind, err) {
		t.Fatalf("got error %v (kind %v), want kind %v", err, errs.KindOf(err), kind)
	}
	if code != "" && errs.CodeOf(err) != code {
		t.Fatalf("got error %v with code %q, want %q", err, errs.CodeOf(err), code)
	}
}

func ptr[T any](v T) *T { return &v }
