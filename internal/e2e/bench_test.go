package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/testenv"
)

// The benchmarks start the real binary and drive it over loopback. Run:
//
//	go test ./internal/e2e -run '^$' -bench . -benchtime 1x
//
// BenchmarkRawWrite is the physical limit the uploads are compared with:
// the same bytes hashed with SHA-256 and written with fsync to the same
// disk, in the same run.

const gib = 1 << 30

// pattern is a 1 MiB random block that sources repeat, so that producing
// the bytes costs almost nothing next to what is measured.
var pattern = func() []byte {
	b := make([]byte, 1<<20)
	rand.Read(b)
	return b
}()

type repeat struct{ off, left int64 }

func source(n int64) io.Reader { return &repeat{left: n} }

// WriteTo hands the pattern to w directly, as a client sending a file
// with sendfile would, so that the client's copying does not take the
// server's share of the two cores.
func (r *repeat) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.left > 0 {
		chunk := pattern[r.off%int64(len(pattern)):]
		chunk = chunk[:min(int64(len(chunk)), r.left)]
		n, err := w.Write(chunk)
		total += int64(n)
		r.off += int64(n)
		r.left -= int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, pattern[r.off%int64(len(pattern)):])
	n = int(min(int64(n), r.left))
	r.off += int64(n)
	r.left -= int64(n)
	return n, nil
}

// benchDir is a directory on the disk the project lives on.
func benchDir(b *testing.B) string {
	dir, err := os.MkdirTemp(".", "bench-data-")
	if err != nil {
		b.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	b.Cleanup(func() { os.RemoveAll(abs) })
	return abs
}

// rawSeconds is the time BenchmarkRawWrite1GiB took per GiB in this run,
// for the upload benchmark to report its share of it.
var rawSeconds float64

func BenchmarkRawWrite1GiB(b *testing.B) {
	dir := benchDir(b)
	b.SetBytes(gib)
	buf := make([]byte, 1<<20)
	start := time.Now()
	defer func() { rawSeconds = time.Since(start).Seconds() / float64(b.N) }()
	for i := 0; i < b.N; i++ {
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.CopyBuffer(io.MultiWriter(f, h), source(gib), buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		os.Remove(f.Name())
	}
}

// uploadStream uploads size bytes as one file and returns the file id. The
// body has a Content-Length, as a client uploading a file would send it:
// the form fields and the file part's header, the content, the closing
// boundary.
func uploadStream(b testing.TB, hc *http.Client, url, tok, name string, size int64, fields ...[2]string) string {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	mw.WriteField("size", strconv.FormatInt(size, 10))
	mw.CreateFormFile("file", name)
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), source(size), strings.NewReader(tail))
	req, _ := http.NewRequest("POST", url, body)
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		FileID string `json:"file_id"`
	}
	if resp.StatusCode != 201 || json.NewDecoder(resp.Body).Decode(&f) != nil {
		msg, _ := io.ReadAll(resp.Body)
		b.Fatalf("upload: %s %s", resp.Status, msg)
	}
	return f.FileID
}

func download(b testing.TB, hc *http.Client, url, tok string) int64 {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("download: %s %v", resp.Status, err)
	}
	return n
}

func benchServer(b *testing.B) (*proc, string) {
	p := start(b, benchDir(b))
	return p, p.token()
}

func BenchmarkUpload1GiB(b *testing.B) {
	p, tok := benchServer(b)
	b.SetBytes(gib)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		uploadStream(b, http.DefaultClient, p.url+"/elements/rw-01/api/v1/files", tok, "big.bin", gib)
	}
	if rawSeconds > 0 {
		b.ReportMetric(100*rawSeconds/(time.Since(start).Seconds()/float64(b.N)), "%-of-raw-write")
	}
}

// BenchmarkIngestUpload1GiB uploads 1 GiB through the public upload API,
// which chooses the element and streams through to it, and 1 GiB straight
// to the element, on one server so that both see the same disk. It runs
// five rounds of one upload each way, alternating which goes first, and
// starts every upload with the system's dirty pages flushed, so that no
// upload pays for another's write-back. It reports both throughputs and the
// median of the rounds' ratios, which a single slow moment of the disk
// moves less than a ratio of sums would.
func BenchmarkIngestUpload1GiB(b *testing.B) {
	p, tok := benchServer(b)
	var (
		direct, ingest time.Duration
		ratios         []float64
	)
	timed := func(url, name string, fields ...[2]string) time.Duration {
		b.StopTimer()
		syscall.Sync()
		b.StartTimer()
		t0 := time.Now()
		uploadStream(b, http.DefaultClient, p.url+url, tok, name, gib, fields...)
		return time.Since(t0)
	}
	b.ResetTimer()
	const perRun = 5 // rounds; the disk's speed varies by a third from one to the next
	for i := 0; i < perRun*b.N; i++ {
		var d, g time.Duration
		toElement := func() { d = timed("/elements/rw-01/api/v1/files", "direct.bin") }
		throughIngest := func() {
			g = timed("/api/v1/files/upload", "ingest.bin", [2]string{"retention_policy", "permanent"})
		}
		if i%2 == 0 {
			toElement()
			throughIngest()
		} else {
			throughIngest()
			toElement()
		}
		direct += d
		ingest += g
		ratios = append(ratios, 100*d.Seconds()/g.Seconds())
	}
	slices.Sort(ratios)
	rounds := float64(perRun * b.N)
	b.ReportMetric(rounds*gib/direct.Seconds()/1e6, "direct-MB/s")
	b.ReportMetric(rounds*gib/ingest.Seconds()/1e6, "ingest-MB/s")
	b.ReportMetric(ratios[len(ratios)/2], "%-of-direct")
}

func BenchmarkDownload1GiB(b *testing.B) {
	p, tok := benchServer(b)
	id := uploadStream(b, http.DefaultClient, p.url+"/elements/rw-01/api/v1/files", tok, "big.bin", gib)
	url := p.url + "/elements/rw-01/api/v1/files/" + id + "/download"
	download(b, http.DefaultClient, url, tok) // warm the page cache, as a hot file would be
	b.SetBytes(gib)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := download(b, http.DefaultClient, url, tok); n != gib {
			b.Fatalf("downloaded %d bytes", n)
		}
	}
}

// BenchmarkSmallUploads measures acknowledged 4 KiB uploads per second with
// 16 concurrent clients.
func BenchmarkSmallUploads(b *testing.B) {
	p, tok := benchServer(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	body := make([]byte, 4096)
	rand.Read(body)
	const clients = 16
	total := max(b.N, 2000)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				fw, _ := mw.CreateFormFile("file", "small.bin")
				fw.Write(body)
				mw.Close()
				req, _ := http.NewRequest("POST", p.url+"/elements/rw-01/api/v1/files", &buf)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					b.Errorf("upload: %s", resp.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "uploads/s")
}

// BenchmarkMemory2GiB uploads and downloads a 2 GiB file and reports the
// server's peak resident memory.
func BenchmarkMemory2GiB(b *testing.B) {
	p, tok := benchServer(b)
	const size = 2 * gib
	for i := 0; i < b.N; i++ {
		id := uploadStream(b, http.DefaultClient, p.url+"/elements/rw-01/api/v1/files", tok, "huge.bin", size)
		if n := download(b, http.DefaultClient, p.url+"/elements/rw-01/api/v1/files/"+id+"/download", tok); n != size {
			b.Fatalf("downloaded %d", n)
		}
	}
	b.ReportMetric(float64(peakRSS(b, p.cmd.Process.Pid))/(1<<20), "peak-rss-MiB")
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(b testing.TB, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkUploadToSearch measures the time from an upload's 201 to the
// moment the query service finds the file, over 1,000 uploads from 4
// clients: all-in-one, and split with the query service in another
// process fed through Redis (when ARTSTORE_TEST_REDIS is set).
func BenchmarkUploadToSearch(b *testing.B) {
	b.Run("all-in-one", func(b *testing.B) {
		p, tok := benchServer(b)
		searchLatency(b, p, p, tok)
	})
	b.Run("split-redis", func(b *testing.B) {
		redis := testenv.Redis(b)
		env := []string{"ARTSTORE_REDIS_URL=" + redis.URL()}
		core := startWith(b, benchDir(b), freeAddr(b), env, "--roles", "admin,storage,ingest")
		q := startWith(b, benchDir(b), freeAddr(b), append(splitEnv(core), env...),
			append([]string{"--roles", "query"}, remoteElements(core)...)...)
		searchLatency(b, core, q, core.token())
	})
}

func searchLatency(b *testing.B, ingest, query *proc, tok string) {
	const n, clients = 1000, 4
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				name := fmt.Sprintf("latency-%04d.txt", i)
				id := uploadStream(b, hc, ingest.url+"/api/v1/files/upload", tok, name, 100)
				t0 := time.Now()
				for {
					req, _ := http.NewRequest("GET", query.url+"/api/v1/search?limit=1&filename="+name, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && bytes.Contains(body, []byte(id)) {
						break
					}
					if time.Since(t0) > 30*time.Second {
						b.Errorf("file %s not found after 30s", id)
						return
					}
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
