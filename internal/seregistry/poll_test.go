package seregistry_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/seregistry"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

// TestPolling runs the poller and takes an element's server down and up
// again on the same address: the entry goes offline with the reason, then
// back online, and the element's state follows it meanwhile.
func TestPolling(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		f := startFleet(t)
		r := openRegistry(t, db, seregistry.Config{PollInterval: 50 * time.Millisecond})
		registerFleet(t, r, f)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); r.Run(runCtx) }()
		defer func() { stop(); <-done }()

		entry := func(id string) seregistry.Entry {
			e, err := r.Get(ctx, id)
			if err != nil {
				t.Fatalf("Get %s: %v", id, err)
			}
			return e
		}
		f.edit.upload(4)
		testenv.Eventually(t, 5*time.Second, "polling sees the new files", func() bool { return entry("se-edit").FileCount == 4 })

		f.edit.stop()
		testenv.Eventually(t, 5*time.Second, "se-edit is offline", func() bool { return entry("se-edit").Status == seregistry.StatusOffline })
		e := entry("se-edit")
		if e.LastError == "" || e.LastSeenAt == nil || e.FileCount != 4 {
			t.Fatalf("offline entry: %+v", e)
		}
		// The others are not held up by the one that is down.
		if e := entry("se-rw"); e.Status != seregistry.StatusOnline || time.Since(*e.LastSeenAt) > 2*time.Second {
			t.Fatalf("se-rw while se-edit is down: %+v", e)
		}
		if p, _ := r.List(ctx, seregistry.Filter{Status: "offline"}); ids(p.Items) != "se-edit" {
			t.Fatalf("offline list: %s", ids(p.Items))
		}

		f.edit.restart()
		testenv.Eventually(t, 5*time.Second, "se-edit is back online", func() bool { return entry("se-edit").Status == seregistry.StatusOnline })
		if e := entry("se-edit"); e.LastError != "" || e.FileCount != 4 {
			t.Fatalf("entry back online: %+v", e)
		}
	})
}

// TestAddressReused checks that an entry whose URL comes to serve another
// element goes offline rather than taking on the other element's state.
func TestAddressReused(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		a := startElement(t, elementConfig{id: "se-a", mode: artstore.ModeRW})
		r := openRegistry(t, db, seregistry.Config{})
		if _, err := r.Register(ctx, seregistry.Registration{URL: a.url()}); err != nil {
			t.Fatal(err)
		}
		b := startElement(t, elementConfig{id: "se-b", mode: artstore.ModeEdit})
		b.upload(2)
		b.stop()
		a.stop()
		b.serve(a.addr)

		e, err := r.Sync(ctx, "se-a")
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if e.Status != seregistry.StatusOffline || !strings.Contains(e.LastError, `"se-b"`) || e.Mode != artstore.ModeRW || e.FileCount != 0 {
			t.Fatalf("entry of a reused address: %+v", e)
		}
		all, err := r.SyncAll(ctx)
		if err != nil || len(all) != 1 || all[0].Status != seregistry.StatusOffline {
			t.Fatalf("SyncAll: %+v, %v", all, err)
		}
	})
}

// TestRegisterLocal registers an element the way the all-in-one server
// does at every start, across restarts that change its URL and priority.
func TestRegisterLocal(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		el := startElement(t, elementConfig{id: "rw-01", mode: artstore.ModeRW, priority: 3})
		r := openRegistry(t, db, seregistry.Config{})
		const url1, url2 = "http://127.0.0.1:8080/elements/rw-01", "http://artstore.internal:8080/elements/rw-01"

		e, err := r.RegisterLocal(ctx, el.el, url1)
		if err != nil || e.ElementID != "rw-01" || e.URL != url1 || e.Priority != 3 || e.Status != seregistry.StatusOnline {
			t.Fatalf("RegisterLocal: %+v, %v", e, err)
		}
		// Callers in this process get the element itself, not a client.
		if got, ok := r.Element("rw-01"); !ok || got != artstore.Element(el.el) {
			t.Fatalf("Element(rw-01) = %T, %v", got, ok)
		}
		// Syncing a local element asks it directly: its URL need not answer.
		if e, err := r.Sync(ctx, "rw-01"); err != nil || e.Status != seregistry.StatusOnline {
			t.Fatalf("Sync of a local element: %+v, %v", e, err)
		}
		if _, err := r.Update(ctx, "rw-01", seregistry.Update{Name: ptr("Main"), Description: ptr("embedded")}); err != nil {
			t.Fatal(err)
		}

		// A restart with another URL and priority: the registration keeps
		// what the operator set and takes the rest from the element.
		el.open(elementConfig{id: "rw-01", mode: artstore.ModeRW, priority: 7})
		el.upload(1)
		r = openRegistry(t, db, seregistry.Config{})
		e, err = r.RegisterLocal(ctx, el.el, url2+"/")
		if err != nil || e.URL != url2 || e.Priority != 7 || e.Name != "Main" || e.Description != "embedded" || e.FileCount != 1 {
			t.Fatalf("RegisterLocal after restart: %+v, %v", e, err)
		}
		if e2, err := r.RegisterLocal(ctx, el.el, url2); err != nil || !e2.CreatedAt.Equal(e.CreatedAt) || !e2.UpdatedAt.Equal(e.UpdatedAt) {
			t.Fatalf("repeated RegisterLocal: %+v, %v", e2, err)
		}

		// An operator's priority outlasts restarts.
		if _, err := r.Update(ctx, "rw-01", seregistry.Update{Priority: ptr(9)}); err != nil {
			t.Fatal(err)
		}
		el.open(elementConfig{id: "rw-01", mode: artstore.ModeRW, priority: 2})
		if e, err := r.RegisterLocal(ctx, el.el, url2); err != nil || e.Priority != 9 {
			t.Fatalf("pinned priority after restart: %+v, %v", e, err)
		}

		// Another element may not take a registered URL.
		other := startElement(t, elementConfig{id: "rw-02", mode: artstore.ModeRW})
		_, err = r.RegisterLocal(ctx, other.el, url2)
		if err == nil {
			t.Fatal("RegisterLocal took another element's URL")
		}
		if _, err := r.Get(ctx, "rw-02"); err == nil {
			t.Fatal("refused RegisterLocal stored an entry")
		}
		_, err = r.RegisterLocal(ctx, other.el, "ftp://x")
		if err == nil {
			t.Fatal("RegisterLocal took an ftp URL")
		}

		// A registry without the local element reaches it over HTTP.
		r2 := openRegistry(t, db, seregistry.Config{})
		if got, ok := r2.Element("rw-01"); !ok || got == artstore.Element(el.el) {
			t.Fatalf("Element(rw-01) in another registry = %T, %v", got, ok)
		}
	})
}

// TestFailureReason checks that a poll answered with a hostile body (NUL
// bytes, invalid UTF-8, a huge text) records the element offline with a
// readable, bounded reason, on both databases.
func TestFailureReason(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqldb.DB) {
		a := startElement(t, elementConfig{id: "se-a", mode: artstore.ModeRW})
		r := openRegistry(t, db, seregistry.Config{})
		if _, err := r.Register(ctx, seregistry.Registration{URL: a.url()}); err != nil {
			t.Fatal(err)
		}
		a.stop()
		var (
			ln  net.Listener
			err error
		)
		for range 50 {
			if ln, err = net.Listen("tcp", a.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		bad := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "bad\x00body \xff\xfe "+strings.Repeat("é", 3000))
		})}}
		bad.Start()
		defer bad.Close()

		e, err := r.Sync(ctx, "se-a")
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if e.Status != seregistry.StatusOffline || e.LastError == "" || !utf8.ValidString(e.LastError) ||
			strings.ContainsRune(e.LastError, 0) || len(e.LastError) > 1010 {
			t.Fatalf("entry after a hostile answer: status %s, last_error %q", e.Status, e.LastError)
		}
	})
}
