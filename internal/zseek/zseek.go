// Package zseek writes and reads zstd in the seekable format of the zstd
// project (contrib/seekable_format): the content is cut into frames of a
// fixed uncompressed size, each compressed on its own, and a seek table in
// a skippable frame at the end maps uncompressed offsets to frames. Any
// zstd decoder reads the whole; a reader with random access decodes only
// the frames a byte range needs. Memory stays bounded by one frame.
package zseek

import (
	"context"
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/artstore/artstore/internal/errs"
)

// FrameSize is the uncompressed size of each frame.
const FrameSize = 1 << 20

const (
	skippableMagic = 0x184D2A5E
	seekableMagic  = 0x8F92EAB1
	footerSize     = 9 // number of frames, descriptor, magic
	entrySize      = 8 // compressed size, decompressed size
)

// encoder compresses frames; EncodeAll is safe for concurrent use.
var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))

// Writer compresses what is written to it into w, frame by frame.
type Writer struct {
	w       io.Writer
	buf     []byte
	out     []byte
	entries []byte
	frames  uint32
	written int64 // compressed bytes written to w
	closed  bool
}

// NewWriter returns a writer of the seekable format into w. Close must be
// called to write the last frame and the seek table.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, FrameSize)}
}

// Write compresses p.
func (z *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), FrameSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(z.buf) == FrameSize {
			if err := z.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (z *Writer) flush() error {
	if len(z.buf) == 0 {
		return nil
	}
	z.out = encoder.EncodeAll(z.buf, z.out[:0])
	if _, err := z.w.Write(z.out); err != nil {
		return err
	}
	z.entries = binary.LittleEndian.AppendUint32(z.entries, uint32(len(z.out)))
	z.entries = binary.LittleEndian.AppendUint32(z.entries, uint32(len(z.buf)))
	z.frames++
	z.written += int64(len(z.out))
	z.buf = z.buf[:0]
	return nil
}

// Close writes the last frame and the seek table. It does not close w.
func (z *Writer) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	if err := z.flush(); err != nil {
		return err
	}
	t := make([]byte, 0, 8+len(z.entries)+footerSize)
	t = binary.LittleEndian.AppendUint32(t, skippableMagic)
	t = binary.LittleEndian.AppendUint32(t, uint32(len(z.entries)+footerSize))
	t = append(t, z.entries...)
	t = binary.LittleEndian.AppendUint32(t, z.frames)
	t = append(t, 0) // descriptor: no per-frame checksums
	t = binary.LittleEndian.AppendUint32(t, seekableMagic)
	_, err := z.w.Write(t)
	z.written += int64(len(t))
	return err
}

// Written is the number of compressed bytes written so far.
func (z *Writer) Written() int64 { return z.written }

// RangeReader reads n bytes at off of a stored object.
type RangeReader func(ctx context.Context, off, n int64) (io.ReadCloser, error)

type frame struct{ coff, clen, uoff, ulen int64 }

// Index is a seek table.
type Index struct {
	frames []frame
	size   int64 // uncompressed
}

// Size is the uncompressed size.
func (ix *Index) Size() int64 { return ix.size }

// tableSize is the size of the seek table that Writer ends an object of
// size uncompressed bytes with: one entry per frame, and the footer.
func tableSize(size int64) int64 {
	return 8 + entrySize*((max(size, 0)+FrameSize-1)/FrameSize) + footerSize
}

// ReadIndex reads the seek table at the end of an object of storedSize
// bytes. size, the uncompressed size the caller expects, tells how large
// the table is, so that one read fetches exactly it; when the footer tells
// otherwise, the table it describes is read next.
func ReadIndex(ctx context.Context, get RangeReader, storedSize, size int64) (*Index, error) {
	const op = "zseek.ReadIndex"
	bad := func(what string) error {
		return errs.E(op, errs.Internal, errs.Msg("not a seekable zstd object: %s", what))
	}
	if storedSize < footerSize+8 {
		return nil, bad("too short")
	}
	first := min(storedSize, tableSize(size))
	tail, err := readAll(ctx, get, storedSize-first, first)
	if err != nil {
		return nil, errs.E(op, err)
	}
	foot := tail[len(tail)-footerSize:]
	if binary.LittleEndian.Uint32(foot[5:]) != seekableMagic || foot[4]&0x7f != 0 {
		return nil, bad("no seek table footer")
	}
	n := int64(binary.LittleEndian.Uint32(foot))
	tableSize := 8 + n*entrySize + footerSize
	if tableSize > storedSize || n > storedSize/entrySize {
		return nil, bad("seek table larger than the object")
	}
	var table []byte
	if tableSize <= int64(len(tail)) {
		table = tail[int64(len(tail))-tableSize : len(tail)-footerSize]
	} else if table, err = readAll(ctx, get, storedSize-tableSize, tableSize-footerSize); err != nil {
		return nil, errs.E(op, err)
	}
	if binary.LittleEndian.Uint32(table) != skippableMagic {
		return nil, bad("no skippable frame")
	}
	ix := &Index{frames: make([]frame, n)}
	var coff int64
	for i := int64(0); i < n; i++ {
		e := table[8+i*entrySize:]
		f := frame{coff: coff, clen: int64(binary.LittleEndian.Uint32(e)), uoff: ix.size, ulen: int64(binary.LittleEndian.Uint32(e[4:]))}
		ix.frames[i] = f
		coff += f.clen
		ix.size += f.ulen
	}
	if coff != storedSize-tableSize {
		return nil, bad("frames and seek table disagree")
	}
	return ix, nil
}

func readAll(ctx context.Context, get RangeReader, off, n int64) ([]byte, error) {
	rc, err := get(ctx, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, errs.E(errs.Internal, err)
	}
	return b, nil
}

// Open returns the n uncompressed bytes at off (n < 0: to the end),
// decoding only the frames they lie in, one at a time, from one read of
// the stored bytes those frames span.
func (ix *Index) Open(ctx context.Context, get RangeReader, off, n int64) (io.ReadCloser, error) {
	if n < 0 {
		n = ix.size - off
	}
	if off < 0 || n < 0 || off+n > ix.size {
		return nil, errs.E("zseek.Open", errs.Invalid, errs.Msg("range %d+%d outside %d bytes", off, n, ix.size))
	}
	r := &reader{ix: ix, get: get, ctx: ctx, pos: off, end: off + n}
	if n > 0 {
		r.next, r.last = ix.frameAt(off), ix.frameAt(off+n-1)
	}
	return r, nil
}

// frameAt returns the index of the frame holding uncompressed offset pos.
func (ix *Index) frameAt(pos int64) int {
	lo, hi := 0, len(ix.frames)
	for lo < hi { // the first frame starting after pos
		m := (lo + hi) / 2
		if ix.frames[m].uoff <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

type reader struct {
	ix         *Index
	get        RangeReader
	ctx        context.Context
	pos, end   int64
	next, last int           // the frames still to decode
	src        io.ReadCloser // the stored bytes from frame next to last
	cur        []byte        // the decoded frame holding pos
	curOff     int64
	cbuf       []byte
	dec        *zstd.Decoder
}

func (r *reader) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		return 0, io.EOF
	}
	if r.pos >= r.curOff+int64(len(r.cur)) {
		if err := r.load(); err != nil {
			return 0, err
		}
	}
	i := r.pos - r.curOff
	k := copy(p, r.cur[i:min(int64(len(r.cur)), r.end-r.curOff)])
	r.pos += int64(k)
	return k, nil
}

// load decodes the next frame, reading the stored bytes of every frame the
// range spans at the first.
func (r *reader) load() error {
	const op = "zseek.Read"
	if r.next > r.last {
		return errs.E(op, errs.Internal, errs.Msg("read past the last frame"))
	}
	f := r.ix.frames[r.next]
	if r.src == nil {
		last := r.ix.frames[r.last]
		src, err := r.get(r.ctx, f.coff, last.coff+last.clen-f.coff)
		if err != nil {
			return err
		}
		r.src = src
	}
	if int64(cap(r.cbuf)) < f.clen {
		r.cbuf = make([]byte, f.clen)
	}
	r.cbuf = r.cbuf[:f.clen]
	if _, err := io.ReadFull(r.src, r.cbuf); err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if r.dec == nil {
		var err error
		if r.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(4*FrameSize)); err != nil {
			return errs.E(op, errs.Internal, err)
		}
	}
	out, err := r.dec.DecodeAll(r.cbuf, r.cur[:0])
	if err != nil || int64(len(out)) != f.ulen {
		return errs.E(op, errs.Internal, errs.Msg("frame at %d does not decode to %d bytes: %v", f.coff, f.ulen, err))
	}
	r.cur, r.curOff = out, f.uoff
	r.next++
	return nil
}

func (r *reader) Close() error {
	if r.dec != nil {
		r.dec.Close()
	}
	if r.src != nil {
		return r.src.Close()
	}
	return nil
}
