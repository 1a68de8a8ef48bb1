package local

import (
	"io"
)

// copyTo copies src to w. A copy of more than one buffer is pipelined (see
// pipelinedCopy); a smaller one of known size, such as a sidecar, is
// written at once, without a goroutine and buffers it would not use.
func copyTo(w io.Writer, src io.Reader, size int64) (int64, error) {
	if size >= 0 && size < copyBufferSize {
		return io.Copy(w, src)
	}
	return pipelinedCopy(w, src)
}

// pipelinedCopy copies src to w with two buffers: one goroutine reads the
// next buffer (for an upload: from the socket, through the multipart
// parser and the hash) while the caller writes the previous one, so that
// neither waits for the other. It stops at the first error of either side
// and does not return before the reader has stopped; once the writer has
// failed, the reader starts no further read.
func pipelinedCopy(w io.Writer, src io.Reader) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
		err error
	}
	free := make(chan *[]byte, 2)
	full := make(chan chunk, 2)
	stop := make(chan struct{})
	for range 2 {
		free <- bufPool.Get().(*[]byte)
	}
	defer func() {
		for len(free) > 0 {
			bufPool.Put(<-free)
		}
	}()
	go func() {
		defer close(full)
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-stop:
				return
			}
			select {
			case <-stop: // the writer failed while a buffer was free
				free <- bp
				return
			default:
			}
			n, err := io.ReadFull(src, *bp)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			full <- chunk{bp, n, err}
			if err != nil {
				return
			}
		}
	}()
	var (
		written int64
		werr    error
	)
	for c := range full {
		if werr == nil && c.n > 0 {
			var n int
			n, werr = w.Write((*c.buf)[:c.n])
			written += int64(n)
		}
		if c.err != nil && c.err != io.EOF && werr == nil {
			werr = c.err
		}
		if werr != nil {
			bufPool.Put(c.buf)
			close(stop)
			for c := range full { // let the reader finish its read
				bufPool.Put(c.buf)
			}
			return written, werr
		}
		free <- c.buf
	}
	return written, werr
}
