package local

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// failingWriter fails its write number failAt, counting from 1.
type failingWriter struct {
	writes, failAt int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == w.failAt {
		return 0, errDiskFull
	}
	return len(p), nil
}

// endlessReader fills every read and blocks forever on read number blockAt.
type endlessReader struct {
	reads   atomic.Int32
	blockAt int32
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.reads.Add(1) == r.blockAt {
		select {}
	}
	return len(p), nil
}

// TestPipelinedCopyWriteFails checks that a failed write ends the copy with
// that error, after what was written before it, without waiting for reads
// the copy need not make.
func TestPipelinedCopyWriteFails(t *testing.T) {
	src := &endlessReader{blockAt: 4}
	done := make(chan struct{})
	var (
		n   int64
		err error
	)
	go func() {
		n, err = pipelinedCopy(&failingWriter{failAt: 2}, src)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the copy did not return after a failed write (%d reads)", src.reads.Load())
	}
	if !errors.Is(err, errDiskFull) || n != copyBufferSize {
		t.Fatalf("copy: %d bytes, %v; want %d and the write's error", n, err, copyBufferSize)
	}
}

// TestCopyTo checks both ways of copying: whole for a small known size,
// pipelined for a large or unknown one.
func TestCopyTo(t *testing.T) {
	for _, size := range []int{0, 10, copyBufferSize - 1, copyBufferSize, 3*copyBufferSize + 7} {
		data := bytes.Repeat([]byte{'x'}, size)
		for _, declared := range []int64{int64(size), -1} {
			var out bytes.Buffer
			n, err := copyTo(&out, bytes.NewReader(data), declared)
			if err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("size %d declared %d: %d bytes, %v", size, declared, n, err)
			}
		}
	}
	var w io.Writer = &failingWriter{failAt: 1}
	if _, err := copyTo(w, bytes.NewReader([]byte("small")), 5); !errors.Is(err, errDiskFull) {
		t.Fatalf("small copy to a failing writer: %v", err)
	}
}
