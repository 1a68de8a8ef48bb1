package local

import (
	"io"
	"os"
)

// pipelinedCopy copies src to f with two buffers: one goroutine reads the
// next buffer (for an upload: from the socket, through the multipart
// parser and the hash) while the caller writes the previous one to the
// file, so that neither waits for the other. It stops at the first error
// of either side and does not return before the reader has stopped.
func pipelinedCopy(f *os.File, src io.Reader) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
		err error
	}
	free := make(chan *[]byte, 2)
	full := make(chan chunk, 2)
	stop := make(chan struct{})
	for i := 0; i < 2; i++ {
		free <- bufPool.Get().(*[]byte)
	}
	go func() {
		defer close(full)
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-stop:
				return
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
			n, werr = f.Write((*c.buf)[:c.n])
			written += int64(n)
		}
		bufPool.Put(c.buf)
		if c.err != nil && c.err != io.EOF && werr == nil {
			werr = c.err
		}
		if werr != nil {
			close(stop)
			for c := range full { // let the reader finish its read
				bufPool.Put(c.buf)
			}
			return written, werr
		}
		free <- bufPool.Get().(*[]byte)
	}
	for len(free) > 0 {
		bufPool.Put(<-free)
	}
	return written, werr
}
