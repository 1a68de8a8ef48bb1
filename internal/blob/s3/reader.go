package s3

import (
	"errors"
	"io"
	"sync"

	"github.com/artstore/artstore/internal/errs"
)

// sizedReader wraps the reader of a Put. It counts the bytes read, keeps
// the first error the reader returns, and, when the size is known, fails
// the read that shows the reader to be shorter or longer than announced.
//
// Failing the read matters: minio-go stops reading once it has the
// announced number of bytes, and would otherwise complete an upload that
// silently dropped the excess. The check happens on the read that delivers
// the last byte, before minio-go can send the final part or body chunk, so
// a wrong size never produces an object.
//
// net/http may go on reading a request body in its own goroutine after the
// round trip has returned (when the server answers early). The mutex and
// finish make sure that the caller's reader is not touched once Put has
// returned, and that Put sees a consistent count and error.
type sizedReader struct {
	r    io.Reader
	size int64 // -1 when unknown

	mu       sync.Mutex
	n        int64
	err      error // first error other than io.EOF
	finished bool
}

// errFinished is returned to readers that come after finish.
var errFinished = errors.New("s3: upload already finished")

// finish stops further reads and returns the count and the first error.
func (s *sizedReader) finish() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished = true
	return s.n, s.err
}

func (s *sizedReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return 0, errFinished
	}
	if s.err != nil {
		return 0, s.err
	}
	if s.size < 0 {
		k, err := s.r.Read(p)
		s.n += int64(k)
		if err != nil && err != io.EOF {
			s.err = err
		}
		return k, err
	}
	remaining := s.size - s.n
	if remaining == 0 {
		return 0, s.probe()
	}
	if int64(len(p)) > remaining {
		p = p[:remaining]
	}
	k, err := s.r.Read(p)
	s.n += int64(k)
	switch {
	case err == io.EOF && s.n < s.size:
		s.err = errs.E("s3.Put", errs.Invalid, errs.Msg("announced %d bytes, reader gave %d", s.size, s.n))
		return k, s.err
	case err != nil && err != io.EOF:
		s.err = err
		return k, err
	case s.n == s.size:
		return k, s.probe()
	}
	return k, nil
}

// probe reads one byte past the announced size. It returns io.EOF when
// there is none, as it should be, and otherwise records an error.
func (s *sizedReader) probe() error {
	var one [1]byte
	k, err := io.ReadFull(s.r, one[:])
	switch {
	case k > 0:
		s.err = errs.E("s3.Put", errs.Invalid, errs.Msg("announced %d bytes, reader gave more", s.size))
	case err == io.EOF:
		return io.EOF
	default:
		s.err = err
	}
	return s.err
}
