package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// content is a deterministic pseudo-random stream, so the test never holds
// a file and can recompute any checksum.
func content(seed uint64, size int64) io.Reader {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return io.LimitReader(readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return len(p), nil
	}), size)
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// slow paces a reader so that uploads are still in flight when the server
// is killed.
type slow struct {
	r     io.Reader
	delay time.Duration
}

func (s slow) Read(p []byte) (int, error) {
	time.Sleep(s.delay)
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	return s.r.Read(p)
}

func checksum(seed uint64, size int64) string {
	h := sha256.New()
	io.Copy(h, content(seed, size))
	return hex.EncodeToString(h.Sum(nil))
}

type uploaded struct {
	FileID   string `json:"file_id"`
	Checksum string `json:"checksum"`
	Size     int64  `json:"size"`
}

// TestCrashDuringUploads kills the server with SIGKILL while 50 uploads are
// in flight, restarts it and checks that every acknowledged upload is
// intact, nothing half-written is visible, no temp file remains and the
// journal has no gap.
func TestCrashDuringUploads(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir)
	tok := p.token()
	const n = 50
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[string]uploaded{}
		ok    atomic.Int32
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			seed, size := uint64(i+1), int64(256<<10+i*37<<10)
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			go func() {
				fw, _ := mw.CreateFormFile("file", fmt.Sprintf("crash-%02d.bin", i))
				_, err := io.Copy(fw, slow{content(seed, size), time.Duration(i%10) * 5 * time.Millisecond})
				if err == nil {
					err = mw.Close()
				}
				pw.CloseWithError(err)
			}()
			req, _ := http.NewRequest("POST", p.url+"/elements/rw-01/api/v1/files", pr)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the server died first
			}
			defer resp.Body.Close()
			var u uploaded
			if resp.StatusCode == 201 && json.NewDecoder(resp.Body).Decode(&u) == nil {
				if u.Checksum != checksum(seed, size) || u.Size != size {
					t.Errorf("upload %d acknowledged with checksum %s size %d", i, u.Checksum, u.Size)
				}
				mu.Lock()
				acked[u.FileID] = u
				mu.Unlock()
				ok.Add(1)
			}
		}(i)
	}
	// Kill once some uploads are acknowledged and others are running.
	deadline := time.Now().Add(20 * time.Second)
	for ok.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	wg.Wait()
	t.Logf("%d of %d uploads acknowledged before SIGKILL", len(acked), n)
	if len(acked) == 0 || len(acked) == n {
		t.Fatalf("the kill did not land mid-way (%d acknowledged)", len(acked))
	}

	p2 := start(t, dir)
	tok = p2.token()
	for id, u := range acked {
		h := sha256.New()
		var w io.Writer = h
		if code := p2.get("/elements/rw-01/api/v1/files/"+id+"/download", tok, w); code != 200 {
			t.Fatalf("acknowledged upload %s: %d", id, code)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != u.Checksum {
			t.Fatalf("acknowledged upload %s: checksum %s, want %s", id, got, u.Checksum)
		}
	}
	// Whatever is visible is whole: its content matches its checksum.
	var list struct {
		Items []uploaded `json:"items"`
		Total int        `json:"total"`
	}
	p2.get("/elements/rw-01/api/v1/files?limit=1000", tok, &list)
	if list.Total < len(acked) {
		t.Fatalf("%d files visible, %d acknowledged", list.Total, len(acked))
	}
	for _, f := range list.Items {
		h := sha256.New()
		var w io.Writer = h
		p2.get("/elements/rw-01/api/v1/files/"+f.FileID+"/download", tok, w)
		if got := hex.EncodeToString(h.Sum(nil)); got != f.Checksum {
			t.Fatalf("visible file %s is not whole", f.FileID)
		}
	}
	var ch struct {
		Items []struct {
			Seq    int64  `json:"seq"`
			FileID string `json:"file_id"`
		} `json:"items"`
		LastSeq int64 `json:"last_seq"`
	}
	p2.get("/elements/rw-01/api/v1/changes?since=0&limit=1000", tok, &ch)
	for i, c := range ch.Items {
		if c.Seq != int64(i+1) {
			t.Fatalf("journal gap: entry %d has seq %d", i, c.Seq)
		}
	}
	if len(ch.Items) != list.Total || ch.LastSeq != int64(list.Total) {
		t.Fatalf("journal has %d entries (head %d) for %d files", len(ch.Items), ch.LastSeq, list.Total)
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) == ".artstore-tmp" {
			t.Errorf("temp file left: %s", path)
		}
		return nil
	})
	p2.stop()
}
