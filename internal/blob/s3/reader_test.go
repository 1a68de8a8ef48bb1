package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/artstore/artstore/internal/errs"
)

func TestSizedReader(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		r    io.Reader
		size int64
		n    int64
		kind errs.Kind // of the recorded error; Other with no error
		err  error     // recorded error, when it is the reader's
	}{
		{"exact", strings.NewReader("hello"), 5, 5, errs.Other, nil},
		{"unknown", strings.NewReader("hello"), -1, 5, errs.Other, nil},
		{"empty", strings.NewReader(""), 0, 0, errs.Other, nil},
		{"short", strings.NewReader("hel"), 5, 3, errs.Invalid, nil},
		{"long", strings.NewReader("hello!"), 5, 5, errs.Invalid, nil},
		{"failing", io.MultiReader(strings.NewReader("he"), &errReader{boom}), 5, 2, errs.Other, boom},
		{"failing unknown", io.MultiReader(strings.NewReader("he"), &errReader{boom}), -1, 2, errs.Other, boom},
	}
	for _, c := range cases {
		s := &sizedReader{r: c.r, size: c.size}
		io.Copy(io.Discard, s)
		n, err := s.finish()
		switch {
		case n != c.n:
			t.Errorf("%s: counted %d bytes, want %d", c.name, n, c.n)
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
		case c.err == nil && c.kind == errs.Other && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.kind != errs.Other && errs.KindOf(err) != c.kind:
			t.Errorf("%s: error %v, want kind %v", c.name, err, c.kind)
		}
		if _, err := s.Read(make([]byte, 1)); err != errFinished {
			t.Errorf("%s: Read after finish gave %v", c.name, err)
		}
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestKindOf(t *testing.T) {
	cases := []struct {
		err  error
		kind errs.Kind
	}{
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, errs.NotExist},
		{fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: "NoSuchKey"}), errs.NotExist},
		{minio.ErrorResponse{Code: "InvalidRange", StatusCode: 416}, errs.Invalid},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, errs.Unavailable},
		{minio.ErrorResponse{Code: "Whatever", StatusCode: 502}, errs.Unavailable},
		{minio.ErrorResponse{Code: "XMinioStorageFull", StatusCode: 507}, errs.NoSpace},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, errs.Other},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, errs.Unavailable},
		{syscall.ECONNRESET, errs.Unavailable},
		{context.DeadlineExceeded, errs.Unavailable},
		{context.Canceled, errs.Other},
		{&url.Error{Op: "Put", URL: "http://x", Err: context.Canceled}, errs.Other},
		{errors.New("other"), errs.Other},
	}
	for _, c := range cases {
		if got := kindOf(c.err); got != c.kind {
			t.Errorf("kindOf(%#v) = %v, want %v", c.err, got, c.kind)
		}
	}
}
