package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/local"
	"github.com/artstore/artstore/internal/blob/mem"
	"github.com/artstore/artstore/internal/blob/s3"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/storage"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is one element under test, with what it takes to reopen it.
type env struct {
	t       *testing.T
	store   store
	dsn     string
	cfg     storage.Config
	el      *storage.Element
	backend blob.Backend
}

// store is where an element under test keeps its index and its blobs.
type store struct {
	dsn         string
	openBackend func() (blob.Backend, error)
}

// localStore is a local backend in a fresh directory.
func localStore(t *testing.T, dsn string) store {
	dir := t.TempDir()
	return store{dsn, func() (blob.Backend, error) { return local.Open(dir) }}
}

// dialects runs fn on SQLite and on PostgreSQL (when enabled) with a local
// backend, and on SQLite with an S3 backend (when enabled).
func dialects(t *testing.T, fn func(t *testing.T, st store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, localStore(t, filepath.Join(t.TempDir(), "index.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, localStore(t, testenv.Postgres(t))) })
	t.Run("s3", func(t *testing.T) {
		cfg := testenv.S3(t)
		fn(t, store{filepath.Join(t.TempDir(), "index.db"), func() (blob.Backend, error) {
			return s3.Open(context.Background(), cfg)
		}})
	})
}

func newEnv(t *testing.T, st store, mode artstore.Mode, capacity int64) *env {
	t.Helper()
	e := &env{t: t, store: st, dsn: st.dsn, cfg: storage.Config{ID: "se-test", Mode: mode, Priority: 1, Capacity: capacity}}
	e.open()
	t.Cleanup(func() {
		if e.el != nil {
			e.el.Close()
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	b, err := e.store.openBackend()
	if err != nil {
		e.t.Fatal(err)
	}
	db, err := sqldb.Open(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	el, err := storage.Open(context.Background(), e.cfg, b, db)
	if err != nil {
		e.t.Fatal(err)
	}
	e.el, e.backend = el, b
}

func (e *env) reopen() {
	e.t.Helper()
	e.el.Close()
	e.el = nil
	e.open()
}

var alice = artstore.Principal{Subject: "sa-alice", Name: "alice", Role: artstore.RoleUser}

func ctxAs(p artstore.Principal) context.Context {
	return artstore.WithPrincipal(context.Background(), p)
}

func (e *env) upload(name, content string) *artstore.File {
	e.t.Helper()
	f, err := e.el.Upload(ctxAs(alice), artstore.NewFile{Filename: name, Size: -1, Tags: []string{"t1"}}, strings.NewReader(content))
	if err != nil {
		e.t.Fatalf("upload %s: %v", name, err)
	}
	return f
}

func (e *env) read(id string, off, n int64) string {
	e.t.Helper()
	rc, err := e.el.Open(context.Background(), id, off, n)
	if err != nil {
		e.t.Fatalf("open %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) journal() []artstore.Change {
	e.t.Helper()
	c, err := e.el.Changes(context.Background(), 0, 1000, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Items
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestLifecycle(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeEdit, 0)
		f := e.upload("report.pdf", "hello, archive")
		if f.Size != 14 || f.Checksum != sum("hello, archive") || f.Version != 1 || f.UploadedBy != "sa-alice" {
			t.Fatalf("unexpected metadata %+v", f)
		}
		if f.ContentType != "application/pdf" || f.RetentionPolicy != artstore.Temporary || f.StorageElementID != "se-test" {
			t.Fatalf("unexpected metadata %+v", f)
		}
		if !strings.Contains(f.StorageFilename, "_alice_") || !strings.HasSuffix(f.StorageFilename, f.FileID+".pdf") {
			t.Fatalf("storage name %q", f.StorageFilename)
		}
		if got := e.read(f.FileID, 0, -1); got != "hello, archive" {
			t.Fatalf("content %q", got)
		}
		if got := e.read(f.FileID, 7, 7); got != "archive" {
			t.Fatalf("range %q", got)
		}
		if _, err := e.el.Open(context.Background(), f.FileID, 10, 10); !errs.Is(errs.Invalid, err) {
			t.Fatalf("range beyond end: %v", err)
		}
		desc := "quarterly"
		u, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{Description: &desc})
		if err != nil || u.Version != 2 || u.Description != "quarterly" || len(u.Tags) != 1 {
			t.Fatalf("update: %+v %v", u, err)
		}
		l, err := e.el.List(context.Background(), artstore.Page{Limit: 10})
		if err != nil || l.Total != 1 || len(l.Items) != 1 || l.Items[0].Version != 2 {
			t.Fatalf("list: %+v %v", l, err)
		}
		// A least version raises the file's and changes nothing else; one
		// the file has reached is no more than a plain update.
		if u, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{MinVersion: 5}); err != nil || u.Version != 5 || u.Description != "quarterly" {
			t.Fatalf("update to at least version 5: %+v %v", u, err)
		}
		if u, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{MinVersion: 2}); err != nil || u.Version != 5 {
			t.Fatalf("update to at least version 2: %+v %v", u, err)
		}
		// An update that changes nothing makes no version and no journal
		// entry; repeated tags are kept once.
		tags := []string{"b", "a", "b", "a"}
		if u, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{Description: &desc, Tags: &tags}); err != nil || u.Version != 6 || !slices.Equal(u.Tags, []string{"b", "a"}) {
			t.Fatalf("update of tags: %+v %v", u, err)
		}
		for _, p := range []artstore.FilePatch{{}, {Description: &desc}, {Tags: &[]string{"b", "a", "a"}}, {Metadata: &u.Metadata}} {
			if u, err := e.el.Update(context.Background(), f.FileID, p); err != nil || u.Version != 6 {
				t.Fatalf("update that changes nothing (%+v): %+v %v", p, u, err)
			}
		}
		for _, v := range []int64{-1, 1<<62 + 1} {
			if _, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{MinVersion: v}); !errs.Is(errs.Invalid, err) {
				t.Fatalf("least version %d: %v", v, err)
			}
		}
		if err := e.el.Delete(context.Background(), f.FileID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.el.Stat(context.Background(), f.FileID); !errs.Is(errs.NotExist, err) {
			t.Fatalf("stat after delete: %v", err)
		}
		j := e.journal()
		want := []artstore.ChangeType{artstore.FileCreated, artstore.FileUpdated, artstore.FileUpdated, artstore.FileUpdated, artstore.FileDeleted}
		versions := []int64{1, 2, 5, 6, 7}
		if len(j) != len(want) {
			t.Fatalf("journal has %d entries", len(j))
		}
		for i, c := range j {
			if c.Seq != int64(i+1) || c.Type != want[i] || c.Version != versions[i] || c.File == nil {
				t.Fatalf("entry %d: %+v", i, c)
			}
		}
		// Nothing is left behind in the backend but the element's identity.
		var keys []string
		e.backend.List(context.Background(), "", func(bi blob.Info) error { keys = append(keys, bi.Key); return nil })
		if len(keys) != 1 || keys[0] != ".artstore/element.json" {
			t.Fatalf("backend keeps %v", keys)
		}
	})
}

func TestModes(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeRW, 0)
		created := e.createdAt()
		f := e.upload("a.txt", "aaa")
		if err := e.el.Delete(context.Background(), f.FileID); errs.CodeOf(err) != "MODE_NOT_ALLOWED" {
			t.Fatalf("delete in rw: %v", err)
		}
		if _, err := e.el.SetMode(context.Background(), artstore.ModeEdit); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("rw → edit: %v", err)
		}
		if _, err := e.el.SetMode(context.Background(), artstore.ModeAR); errs.KindOf(err) != errs.Conflict {
			t.Fatalf("rw → ar: %v", err)
		}
		if _, err := e.el.SetMode(context.Background(), artstore.ModeRO); err != nil {
			t.Fatal(err)
		}
		e.reopen() // the mode survives a restart
		if m := e.el.Mode(); m != artstore.ModeRO {
			t.Fatalf("mode after restart %s", m)
		}
		if _, err := e.el.Upload(ctxAs(alice), artstore.NewFile{Filename: "b.txt", Size: -1}, strings.NewReader("b")); errs.CodeOf(err) != "MODE_NOT_ALLOWED" {
			t.Fatalf("upload in ro: %v", err)
		}
		desc := "x"
		if _, err := e.el.Update(context.Background(), f.FileID, artstore.FilePatch{Description: &desc}); errs.CodeOf(err) != "MODE_NOT_ALLOWED" {
			t.Fatalf("update in ro: %v", err)
		}
		if got := e.read(f.FileID, 0, -1); got != "aaa" {
			t.Fatalf("read in ro: %q", got)
		}
		if _, err := e.el.SetMode(context.Background(), artstore.ModeAR); err != nil {
			t.Fatal(err)
		}
		if _, err := e.el.Open(context.Background(), f.FileID, 0, -1); errs.CodeOf(err) != "MODE_NOT_ALLOWED" {
			t.Fatalf("content in ar: %v", err)
		}
		if _, err := e.el.Stat(context.Background(), f.FileID); err != nil {
			t.Fatalf("metadata in ar: %v", err)
		}
		// Mode changes keep the element's creation time.
		if got := e.createdAt(); !got.Equal(created) {
			t.Fatalf("created_at %v after mode changes and a restart, was %v", got, created)
		}
		// The garbage collector's purge works in every mode, twice.
		for i := 0; i < 2; i++ {
			if err := e.el.Purge(context.Background(), f.FileID); err != nil {
				t.Fatalf("purge %d: %v", i, err)
			}
		}
	})
}

func TestUploadRules(t *testing.T) {
	future := time.Now().Add(time.Hour)
	e := newEnv(t, localStore(t, filepath.Join(t.TempDir(), "i.db")), artstore.ModeEdit, 100)
	ctx := ctxAs(alice)
	id := "0b8f5a8e-1d6c-4c1e-9d3f-2a1b3c4d5e6f"
	if _, err := e.el.Upload(ctx, artstore.NewFile{FileID: id, Filename: "x.bin", Size: -1}, strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		nf   artstore.NewFile
		body string
		kind errs.Kind
	}{
		{"duplicate id", artstore.NewFile{FileID: id, Filename: "y.bin", Size: -1}, "1", errs.Exist},
		{"bad id", artstore.NewFile{FileID: "not-a-uuid", Filename: "y.bin", Size: -1}, "1", errs.Invalid},
		{"traversal", artstore.NewFile{Filename: "../etc/passwd", Size: -1}, "1", errs.Invalid},
		{"absolute", artstore.NewFile{Filename: "/etc/passwd", Size: -1}, "1", errs.Invalid},
		{"nul", artstore.NewFile{Filename: "a\x00b", Size: -1}, "1", errs.Invalid},
		{"long name", artstore.NewFile{Filename: strings.Repeat("n", 10000), Size: -1}, "1", errs.Invalid},
		{"bad utf8", artstore.NewFile{Filename: "a\xffb.txt", Size: -1}, "1", errs.Invalid},
		{"bad policy", artstore.NewFile{Filename: "a.txt", Size: -1, RetentionPolicy: "forever"}, "1", errs.Invalid},
		{"permanent with expiry", artstore.NewFile{Filename: "a.txt", Size: -1, RetentionPolicy: artstore.Permanent, ExpiresAt: &future}, "1", errs.Invalid},
		{"declared too big", artstore.NewFile{Filename: "a.txt", Size: 200}, strings.Repeat("z", 200), errs.NoSpace},
		{"streams past capacity", artstore.NewFile{Filename: "a.txt", Size: -1}, strings.Repeat("z", 200), errs.NoSpace},
		{"size mismatch", artstore.NewFile{Filename: "a.txt", Size: 3}, "1234", errs.Invalid},
		{"checksum not hex", artstore.NewFile{Filename: "a.txt", Size: -1, ExpectChecksum: "zz"}, "1", errs.Invalid},
		{"checksum too short", artstore.NewFile{Filename: "a.txt", Size: -1, ExpectChecksum: "abcd"}, "1", errs.Invalid},
		{"preserved version near overflow", artstore.NewFile{Filename: "a.txt", Size: -1,
			Preserve: &artstore.Preserved{UploadedBy: "x", UploadedAt: time.Now(), Version: 1<<62 + 1}}, "1", errs.Invalid},
	}
	for _, c := range cases {
		_, err := e.el.Upload(ctx, c.nf, strings.NewReader(c.body))
		if errs.KindOf(err) != c.kind {
			t.Errorf("%s: got %v (%v), want %v", c.name, errs.KindOf(err), err, c.kind)
		}
	}
	info, _ := e.el.Info(context.Background())
	if info.FileCount != 1 || info.Capacity.Used != 5 || info.Capacity.Available != 95 {
		t.Fatalf("info after rejected uploads: %+v", info)
	}
	if n := len(e.journal()); n != 1 {
		t.Fatalf("journal has %d entries", n)
	}
	var keys int
	e.backend.List(context.Background(), "", func(blob.Info) error { keys++; return nil })
	if keys != 3 { // element.json, one blob, one sidecar
		t.Fatalf("backend holds %d objects", keys)
	}
}

// TestDeclaredSizeReserved checks that an upload's declared size holds
// its room while the content streams: a second upload that would not fit
// beside it is refused before any of its content is read, and the room is
// given back when the first one ends.
func TestDeclaredSizeReserved(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeRW, 100)
		pr, pw := io.Pipe()
		first := make(chan error, 1)
		go func() {
			_, err := e.el.Upload(ctxAs(alice), artstore.NewFile{Filename: "first.bin", Size: 60}, pr)
			first <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if info, _ := e.el.Info(context.Background()); info.Capacity.Available == 40 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the first upload's declared size was not reserved")
			}
		}
		second := &readCounter{r: strings.NewReader(strings.Repeat("s", 60))}
		if _, err := e.el.Upload(ctxAs(alice), artstore.NewFile{Filename: "second.bin", Size: 60}, second); !errs.Is(errs.NoSpace, err) || second.n != 0 {
			t.Fatalf("second upload beside the first: %v after reading %d bytes; want no space before reading", err, second.n)
		}
		if _, err := pw.Write([]byte(strings.Repeat("f", 60))); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if err := <-first; err != nil {
			t.Fatalf("first upload: %v", err)
		}
		if info, _ := e.el.Info(context.Background()); info.Capacity.Used != 60 || info.Capacity.Available != 40 {
			t.Fatalf("info after the first upload: %+v", info.Capacity)
		}
	})
}

// readCounter counts the bytes read through it.
type readCounter struct {
	r io.Reader
	n int
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestGroupCommit uploads concurrently and checks that the journal has one
// entry per upload with no gap.
func TestGroupCommit(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeRW, 0)
		const n = 64
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := e.el.Upload(ctxAs(alice), artstore.NewFile{Filename: fmt.Sprintf("f%d.txt", i), Size: -1}, strings.NewReader(strings.Repeat("x", i)))
				errc <- err
			}(i)
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		j := e.journal()
		if len(j) != n {
			t.Fatalf("journal has %d entries, want %d", len(j), n)
		}
		for i, c := range j {
			if c.Seq != int64(i+1) {
				t.Fatalf("entry %d has seq %d", i, c.Seq)
			}
		}
	})
}

func TestChangesWait(t *testing.T) {
	e := newEnv(t, localStore(t, filepath.Join(t.TempDir(), "i.db")), artstore.ModeEdit, 0)
	start := time.Now()
	c, err := e.el.Changes(context.Background(), 0, 10, 50*time.Millisecond)
	if err != nil || len(c.Items) != 0 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("empty wait: %+v %v after %v", c, err, time.Since(start))
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.upload("late.txt", "late")
	}()
	c, err = e.el.Changes(context.Background(), 0, 10, 10*time.Second)
	if err != nil || len(c.Items) != 1 || c.LastSeq != 1 || c.Items[0].Type != artstore.FileCreated {
		t.Fatalf("woken wait: %+v %v", c, err)
	}
	if _, err := e.el.Changes(context.Background(), 0, 0, 0); !errs.Is(errs.Invalid, err) {
		t.Fatalf("limit 0: %v", err)
	}
}

// TestRecovery builds the states a crash can leave behind and checks that
// reopening the element resolves each one.
func TestRecovery(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeEdit, 0)
		kept := e.upload("kept.txt", "kept")
		gone := e.upload("gone.txt", "gone")
		durable := e.upload("durable.txt", "durable")
		orphan := e.upload("orphan.txt", "orphan")
		// What the crash left: durable's upload wrote content and sidecar
		// but not its index row; orphan's wrote content only; gone's delete
		// removed the sidecar only.
		db, _ := sqldb.Open(context.Background(), st.dsn)
		defer db.Close()
		exec := func(q string, args ...any) {
			if _, err := db.Exec(db.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		e.el.Close()
		e.el = nil
		exec(`DELETE FROM se_files WHERE file_id IN (?, ?)`, durable.FileID, orphan.FileID)
		exec(`DELETE FROM se_journal WHERE file_id IN (?, ?)`, durable.FileID, orphan.FileID)
		// The transactions that never ran would have advanced the head too.
		exec(`UPDATE se_state SET last_seq = 2 WHERE element_id = 'se-test'`)
		for _, f := range []*artstore.File{durable, orphan} {
			exec(`INSERT INTO se_intents (element_id, file_id, op, blob_key, created_at) VALUES ('se-test', ?, 'put', ?, 0)`, f.FileID, f.Key())
		}
		exec(`INSERT INTO se_intents (element_id, file_id, op, blob_key, created_at) VALUES ('se-test', ?, 'delete', ?, 0)`, gone.FileID, gone.Key())
		b, _ := e.store.openBackend()
		b.Delete(ctx, orphan.Key()+".attr.json")
		b.Delete(ctx, gone.Key()+".attr.json")
		b.Close()

		e.open()
		if got := e.read(kept.FileID, 0, -1); got != "kept" {
			t.Fatalf("kept: %q", got)
		}
		if got := e.read(durable.FileID, 0, -1); got != "durable" {
			t.Fatalf("durable: %q", got)
		}
		for _, f := range []*artstore.File{gone, orphan} {
			if _, err := e.el.Stat(ctx, f.FileID); !errs.Is(errs.NotExist, err) {
				t.Fatalf("%s visible after recovery: %v", f.OriginalFilename, err)
			}
			if _, err := e.backend.Stat(ctx, f.Key()); !errs.Is(errs.NotExist, err) {
				t.Fatalf("%s content left behind: %v", f.OriginalFilename, err)
			}
		}
		j := e.journal()
		for i, c := range j {
			if c.Seq != int64(i+1) {
				t.Fatalf("journal gap at %d: %+v", i, c)
			}
		}
		journaled := map[string]artstore.ChangeType{}
		for _, c := range j {
			journaled[c.FileID] = c.Type
		}
		if journaled[durable.FileID] != artstore.FileCreated || journaled[gone.FileID] != artstore.FileDeleted {
			t.Fatalf("recovered changes not journaled: %v", journaled)
		}
		if _, ok := journaled[orphan.FileID]; ok {
			t.Fatalf("an upload that never became durable was journaled")
		}
		info, _ := e.el.Info(ctx)
		if info.FileCount != 2 {
			t.Fatalf("file count %d", info.FileCount)
		}
	})
}

func TestRebuildAndVerify(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeEdit, 0)
		var files []*artstore.File
		for i := 0; i < 5; i++ {
			files = append(files, e.upload(fmt.Sprintf("f%d.txt", i), strings.Repeat("v", i+1)))
		}
		desc := "changed"
		if _, err := e.el.Update(context.Background(), files[0].FileID, artstore.FilePatch{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		before, _ := e.el.Info(context.Background())
		rep, err := e.el.Rebuild(context.Background())
		if err != nil || rep.Sidecars != 5 || rep.Indexed != 5 || rep.LastSeq != 5 || rep.JournalID == before.JournalID {
			t.Fatalf("rebuild: %+v %v", rep, err)
		}
		f0, err := e.el.Stat(context.Background(), files[0].FileID)
		if err != nil || f0.Description != "changed" || f0.Version != 2 {
			t.Fatalf("rebuilt metadata: %+v %v", f0, err)
		}
		vr, err := e.el.Verify(context.Background())
		if err != nil || !vr.OK() || vr.Checked != 5 {
			t.Fatalf("verify clean: %+v %v", vr, err)
		}
		ctx := context.Background()
		e.backend.Put(ctx, files[1].Key(), strings.NewReader("XX"), 2)         // corrupt
		e.backend.Delete(ctx, files[2].Key())                                  // missing
		e.backend.Put(ctx, "2020/01/01/00/stray.bin", bytes.NewReader(nil), 0) // orphans
		e.backend.Put(ctx, "2020/01/01/00/stray.bin.attr.json", bytes.NewReader(nil), 0)
		e.backend.Put(ctx, files[3].Key()+"x.attr.json", bytes.NewReader(nil), 0)
		vr, err = e.el.Verify(ctx)
		slices.Sort(vr.Orphaned)
		want := []string{"2020/01/01/00/stray.bin", "2020/01/01/00/stray.bin.attr.json", files[3].Key() + "x.attr.json"}
		if err != nil || len(vr.Corrupt) != 1 || len(vr.Missing) != 1 || !slices.Equal(vr.Orphaned, want) {
			t.Fatalf("verify damaged: %+v %v, want orphans %v", vr, err, want)
		}
	})
}

// TestLostIndex opens an element whose database is new: the index is
// rebuilt from the sidecars on start-up.
func TestLostIndex(t *testing.T) {
	e := newEnv(t, localStore(t, filepath.Join(t.TempDir(), "a.db")), artstore.ModeEdit, 0)
	f := e.upload("x.txt", "content")
	e.el.Close()
	e.el = nil
	e.dsn = filepath.Join(t.TempDir(), "new.db")
	e.open()
	got, err := e.el.Stat(context.Background(), f.FileID)
	if err != nil || got.Checksum != f.Checksum || got.OriginalFilename != "x.txt" {
		t.Fatalf("after lost index: %+v %v", got, err)
	}
}

// createdAt reads the creation time the element persisted in its backend.
func (e *env) createdAt() time.Time {
	e.t.Helper()
	rc, err := e.backend.Get(context.Background(), ".artstore/element.json", 0, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	var state struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.NewDecoder(rc).Decode(&state); err != nil || state.CreatedAt.IsZero() {
		e.t.Fatalf("element state: %+v, %v", state, err)
	}
	return state.CreatedAt
}

// TestListPages pages through an element with Next: every file comes once,
// in the order of one long page, even when files are deleted and added
// between pages; offsets still work, and a malformed After is refused.
func TestListPages(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		ctx := context.Background()
		e := newEnv(t, st, artstore.ModeEdit, 0)
		for i := range 7 {
			e.upload(fmt.Sprintf("f%d.txt", i), "content")
		}
		whole, err := e.el.List(ctx, artstore.Page{Limit: 100})
		if err != nil || len(whole.Items) != 7 || whole.HasMore || whole.Next != "" {
			t.Fatalf("one page: %+v %v", whole, err)
		}
		var got []string
		for after := ""; ; {
			l, err := e.el.List(ctx, artstore.Page{Limit: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range l.Items {
				got = append(got, f.FileID)
			}
			if len(got) == 3 {
				// Between pages the newest file goes and a newer one
				// comes: neither shifts the pages that follow.
				if err := e.el.Delete(ctx, whole.Items[0].FileID); err != nil {
					t.Fatal(err)
				}
				e.upload("late.txt", "content")
			}
			if l.HasMore != (l.Next != "") || !l.HasMore {
				break
			}
			after = l.Next
		}
		var want []string
		for _, f := range whole.Items {
			want = append(want, f.FileID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages of 3 give %v, want %v", got, want)
		}
		if l, err := e.el.List(ctx, artstore.Page{Limit: 2, Offset: 6}); err != nil || len(l.Items) != 1 || l.HasMore {
			t.Fatalf("offset 6 of 7: %+v %v", l, err)
		}
		for _, p := range []artstore.Page{{Limit: 0}, {Limit: -1}, {Limit: 2, Offset: -1}} {
			if _, err := e.el.List(ctx, p); !errs.Is(errs.Invalid, err) {
				t.Errorf("List(%+v): %v, want invalid", p, err)
			}
		}
		for _, bad := range []string{"x", "12", "12.", "abc.f1", "12.../etc"} {
			if _, err := e.el.List(ctx, artstore.Page{Limit: 2, After: bad}); !errs.Is(errs.Invalid, err) {
				t.Errorf("after %q: %v, want invalid", bad, err)
			}
		}
	})
}

// TestDamagedContent checks that content shorter than the index records,
// or gone, is reported as damage (Internal, a 500), never as the caller's
// mistake or a missing file, for any range of it.
func TestDamagedContent(t *testing.T) {
	dialects(t, func(t *testing.T, st store) {
		e := newEnv(t, st, artstore.ModeRW, 0)
		f := e.upload("doc.txt", "hello, world")
		ctx := context.Background()
		if _, err := e.backend.Put(ctx, f.Key(), strings.NewReader("hello"), 5); err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]int64{{0, -1}, {8, 2}, {0, 3}} {
			rc, err := e.el.Open(ctx, f.FileID, r[0], r[1])
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if r[0] == 0 && r[1] == 3 {
				if err != nil {
					t.Errorf("the intact part %v: %v", r, err)
				}
				continue
			}
			if !errs.Is(errs.Internal, err) {
				t.Errorf("range %v of truncated content: %v, want an internal error", r, err)
			}
		}
		if err := e.backend.Delete(ctx, f.Key()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.el.Open(ctx, f.FileID, 0, -1); !errs.Is(errs.Internal, err) {
			t.Errorf("content gone: %v, want an internal error", err)
		}
	})
}

// shortBackend is a backend whose reads end one byte early without an
// error, as a backend that does not check what it serves might.
type shortBackend struct{ blob.Backend }

func (b shortBackend) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := b.Backend.Get(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, n-1), rc}, nil
}

// TestShortRead checks that content ending early fails the read as damage,
// through Read and through WriteTo alike, instead of ending as if whole.
func TestShortRead(t *testing.T) {
	ctx := context.Background()
	el, err := storage.Open(ctx, storage.Config{ID: "se-short", Mode: artstore.ModeRW}, shortBackend{mem.New()}, testenv.SQLite(t, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	f, err := el.Upload(ctxAs(alice), artstore.NewFile{Filename: "doc.txt", Size: -1}, strings.NewReader("hello, world"))
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func(io.Reader) error{
		"Read":    func(r io.Reader) error { _, err := io.ReadAll(struct{ io.Reader }{r}); return err },
		"WriteTo": func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err },
	} {
		rc, err := el.Open(ctx, f.FileID, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if err := read(rc); !errs.Is(errs.Internal, err) {
			t.Errorf("%s of content that ends early: %v, want an internal error", name, err)
		}
		rc.Close()
	}
}
