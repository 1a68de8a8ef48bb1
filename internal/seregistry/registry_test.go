package seregistry_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/artstore/artstore/internal/api"
	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
)

// fleet is the three elements most tests register.
type fleet struct{ edit, rw, big *element }

func startFleet(t *testing.T) fleet {
	return fleet{
		edit: startElement(t, elementConfig{id: "se-edit", mode: artstore.ModeEdit, priority: 10, capacity: 1 << 20}),
		rw:   startElement(t, elementConfig{id: "se-rw", mode: artstore.ModeRW, priority: 5}),
		big:  startElement(t, elementConfig{id: "se-big", mode: artstore.ModeRW, priority: 20, capacity: 1 << 30}),
	}
}

func TestRegister(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		f.big.upload(3)
		r := openRegistry(t, db, seregistry.Config{})

		// Discovering shows the element and stores nothing.
		info, err := r.Discover(ctx, f.edit.url()+"/")
		if err != nil || info.ElementID != "se-edit" || info.Mode != artstore.ModeEdit || info.Backend != "memory" {
			t.Fatalf("Discover: %+v, %v", info, err)
		}
		if p, err := r.List(ctx, seregistry.Filter{}); err != nil || p.Total != 0 {
			t.Fatalf("after Discover: %+v, %v", p, err)
		}

		e, err := r.Register(ctx, seregistry.Registration{URL: f.edit.url() + "/", Name: " Working copies ", Description: "edit\nelement"})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		if e.ElementID != "se-edit" || e.Name != "Working copies" || e.Description != "edit\nelement" || e.URL != f.edit.url() ||
			e.Priority != 10 || e.Mode != artstore.ModeEdit || e.Status != seregistry.StatusOnline ||
			e.Capacity.Total != 1<<20 || e.LastSeenAt == nil || e.LastError != "" || e.CreatedAt.IsZero() {
			t.Fatalf("registered entry: %+v", e)
		}
		if got, err := r.Get(ctx, "se-edit"); err != nil || got.URL != e.URL || !got.CreatedAt.Equal(e.CreatedAt) || got.Name != e.Name {
			t.Fatalf("Get: %+v, %v (registered %+v)", got, err, e)
		}

		// The URL, in any spelling, and the element's id are taken now.
		for _, u := range []string{f.edit.url(), "HTTP://" + strings.ToUpper(f.edit.addr) + "//", strings.Replace(f.edit.url(), "127.0.0.1", "localhost", 1)} {
			_, err := r.Register(ctx, seregistry.Registration{URL: u})
			wantKind(t, err, errs.Exist, "")
		}

		if e, err := r.Register(ctx, seregistry.Registration{URL: f.rw.url(), Priority: ptr(1)}); err != nil || e.Priority != 1 || e.Name != "se-rw" {
			t.Fatalf("Register with priority: %+v, %v", e, err)
		}
		if e, err := r.Register(ctx, seregistry.Registration{URL: f.big.url()}); err != nil || e.FileCount != 3 || e.Capacity.Used == 0 {
			t.Fatalf("Register element with files: %+v, %v", e, err)
		}
		_, err = r.Get(ctx, "se-none")
		wantKind(t, err, errs.NotExist, "")

		all, err := r.Entries(ctx)
		if err != nil || ids(all) != "se-rw,se-edit,se-big" {
			t.Fatalf("Entries in fill order: %s, %v", ids(all), err)
		}
		// Element reaches each one over HTTP.
		for _, id := range []string{"se-rw", "se-edit", "se-big"} {
			el, ok := r.Element(id)
			if !ok {
				t.Fatalf("Element(%s) missing", id)
			}
			if info, err := el.Info(ctx); err != nil || info.ElementID != id {
				t.Fatalf("Element(%s).Info: %+v, %v", id, info, err)
			}
		}
		if _, ok := r.Element("se-none"); ok {
			t.Fatal("Element of an unregistered id")
		}

		// A second registry on the same database knows the elements.
		r2 := openRegistry(t, db, seregistry.Config{})
		if el, ok := r2.Element("se-big"); !ok {
			t.Fatal("reopened registry lost se-big")
		} else if info, err := el.Info(ctx); err != nil || info.FileCount != 3 {
			t.Fatalf("reopened se-big: %+v, %v", info, err)
		}
	})
}

func TestDiscoverErrors(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		notFound := httptest.NewServer(http.NotFoundHandler())
		defer notFound.Close()
		html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("<html>hello</html>"))
		}))
		defer html.Close()
		wrongJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"status":"ok"}`))
		}))
		defer wrongJSON.Close()
		closed := httptest.NewServer(http.NotFoundHandler())
		closed.Close()

		for _, c := range []struct {
			url  string
			kind errs.Kind
			code string
		}{
			{"", errs.Invalid, ""},
			{"ftp://example.com/se", errs.Invalid, ""},
			{"file:///etc/passwd", errs.Invalid, ""},
			{"example.com:8080", errs.Invalid, ""},
			{"http://", errs.Invalid, ""},
			{"http://admin:secret@127.0.0.1:1", errs.Invalid, ""},
			{"http://127.0.0.1:1/?a=b", errs.Invalid, ""},
			{"http://127.0.0.1:1/#x", errs.Invalid, ""},
			{"http://127.0.0.1:1/\x00", errs.Invalid, ""},
			{"http://h/" + strings.Repeat("a", seregistry.MaxURLBytes), errs.Invalid, ""},
			{closed.URL, errs.Unavailable, "ELEMENT_UNREACHABLE"},
			{notFound.URL, errs.Invalid, "NOT_AN_ELEMENT"},
			{html.URL, errs.Invalid, "NOT_AN_ELEMENT"},
			{wrongJSON.URL, errs.Invalid, "NOT_AN_ELEMENT"},
			{f.edit.url() + "/api/v1/info", errs.Invalid, "NOT_AN_ELEMENT"},
		} {
			_, err := r.Discover(ctx, c.url)
			wantKind(t, err, c.kind, c.code)
			// Registration fails the same way, and stores nothing.
			_, err = r.Register(ctx, seregistry.Registration{URL: c.url})
			wantKind(t, err, c.kind, c.code)
		}

		// An element that does not accept the registry's token.
		stranger, err := seregistry.Open(ctx, db, api.StaticToken("wrong"), seregistry.Config{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		_, err = stranger.Discover(ctx, f.edit.url())
		wantKind(t, err, errs.Unavailable, "ELEMENT_REFUSED")

		if p, err := r.List(ctx, seregistry.Filter{}); err != nil || p.Total != 0 {
			t.Fatalf("failed registrations stored entries: %+v, %v", p, err)
		}
	})
}

func TestRegisterValidation(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{})
		for _, reg := range []seregistry.Registration{
			{URL: f.edit.url(), Name: strings.Repeat("n", seregistry.MaxNameLen+1)},
			{URL: f.edit.url(), Name: "tab\there"},
			{URL: f.edit.url(), Name: "\xff"},
			{URL: f.edit.url(), Description: strings.Repeat("d", seregistry.MaxDescriptionLen+1)},
			{URL: f.edit.url(), Description: "nul\x00"},
			{URL: f.edit.url(), Priority: ptr(-1)},
			{URL: f.edit.url(), Priority: ptr(seregistry.MaxPriority + 1)},
		} {
			_, err := r.Register(ctx, reg)
			wantKind(t, err, errs.Invalid, "")
		}
		// The limits are inclusive, and count characters, not bytes.
		e, err := r.Register(ctx, seregistry.Registration{
			URL:         f.edit.url(),
			Name:        strings.Repeat("ж", seregistry.MaxNameLen),
			Description: strings.Repeat("é", seregistry.MaxDescriptionLen),
			Priority:    ptr(seregistry.MaxPriority),
		})
		if err != nil || e.Priority != seregistry.MaxPriority {
			t.Fatalf("Register at the limits: %+v, %v", e, err)
		}
	})
}

func ids(entries []seregistry.Entry) string {
	var s []string
	for _, e := range entries {
		s = append(s, e.ElementID)
	}
	return strings.Join(s, ",")
}
