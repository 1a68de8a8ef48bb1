package zseek

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func getter(b []byte) RangeReader {
	return func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
	}
}

// countingGetter is getter counting its reads.
func countingGetter(b []byte, reads *int) RangeReader {
	get := getter(b)
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		*reads++
		return get(ctx, off, n)
	}
}

// TestReads checks how often the stored object is read: once for the seek
// table when the expected size is right, twice when it is not, and once
// for any range, however many frames it spans.
func TestReads(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 5*FrameSize/16+1000)
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if tableSize(int64(len(data))) != 8+6*entrySize+footerSize {
		t.Fatalf("table size %d for %d bytes", tableSize(int64(len(data))), len(data))
	}
	for _, hint := range []int64{int64(len(data)), 0, 100 * FrameSize} {
		reads := 0
		ix, err := ReadIndex(context.Background(), countingGetter(out.Bytes(), &reads), int64(out.Len()), hint)
		want := 2
		if tableSize(hint) >= tableSize(int64(len(data))) {
			want = 1
		}
		if err != nil || reads != want || ix.Size() != int64(len(data)) {
			t.Fatalf("expected size %d: index read in %d reads (%v), want %d", hint, reads, err, want)
		}
		for _, rg := range [][2]int64{{0, -1}, {FrameSize - 10, 3 * FrameSize}, {FrameSize + 1, 1}, {int64(len(data)), 0}} {
			reads = 0
			rc, err := ix.Open(context.Background(), countingGetter(out.Bytes(), &reads), rg[0], rg[1])
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			end := int64(len(data))
			if rg[1] >= 0 {
				end = rg[0] + rg[1]
			}
			if err != nil || !bytes.Equal(got, data[rg[0]:end]) {
				t.Fatalf("range %v: %v", rg, err)
			}
			if want := min(1, end-rg[0]); int64(reads) != want {
				t.Fatalf("range %v read the object %d times, want %d", rg, reads, want)
			}
		}
	}
}

func TestRoundTripAndRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 1000, FrameSize - 1, FrameSize, FrameSize + 1, 3*FrameSize + 12345} {
		data := make([]byte, size)
		for i := range data {
			data[i] = "abcdefgh"[r.IntN(8)] // compressible
		}
		var out bytes.Buffer
		w := NewWriter(&out)
		// Odd write sizes cross frame boundaries.
		for p := data; len(p) > 0; {
			k := min(len(p), 1+r.IntN(300000))
			w.Write(p[:k])
			p = p[k:]
		}
		if err := w.Close(); err != nil || w.Written() != int64(out.Len()) {
			t.Fatal(err)
		}
		if size > 1000 && out.Len() >= size {
			t.Fatalf("%d bytes compressed to %d", size, out.Len())
		}
		// Any zstd decoder reads the whole (the seek table is skippable).
		dec, _ := zstd.NewReader(nil)
		whole, err := dec.DecodeAll(out.Bytes(), nil)
		if err != nil || !bytes.Equal(whole, data) {
			t.Fatalf("size %d: plain decode: %v", size, err)
		}
		ix, err := ReadIndex(context.Background(), getter(out.Bytes()), int64(out.Len()), int64(size))
		if err != nil || ix.Size() != int64(size) {
			t.Fatalf("size %d: index %v %v", size, ix, err)
		}
		for i := 0; i < 20; i++ {
			off := int64(0)
			if size > 0 {
				off = r.Int64N(int64(size))
			}
			n := r.Int64N(int64(size) - off + 1)
			rc, err := ix.Open(context.Background(), getter(out.Bytes()), off, n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, data[off:off+n]) {
				t.Fatalf("size %d range %d+%d: %v", size, off, n, err)
			}
		}
		if _, err := ix.Open(context.Background(), getter(out.Bytes()), 0, int64(size)+1); err == nil {
			t.Fatal("a range beyond the end was accepted")
		}
	}
}

func TestNotSeekable(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("plain text, not zstd at all"), bytes.Repeat([]byte{0}, 100)} {
		if _, err := ReadIndex(context.Background(), getter(b), int64(len(b)), 0); err == nil {
			t.Fatalf("%q read as seekable", b)
		}
	}
}
