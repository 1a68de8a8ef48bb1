package metrics

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/artstore/artstore/internal/artstore"
)

// Element wraps el so that its operations are counted and timed.
func (m *Metrics) Element(id string, el artstore.Element) artstore.Element {
	return &element{Element: el, m: m, id: id,
		in: m.bytes.WithLabelValues(id, "in"), out: m.bytes.WithLabelValues(id, "out")}
}

type element struct {
	artstore.Element
	m       *Metrics
	id      string
	in, out prometheus.Counter
}

func (e *element) Upload(ctx context.Context, nf artstore.NewFile, content io.Reader) (*artstore.File, error) {
	start := time.Now()
	f, err := e.Element.Upload(ctx, nf, content)
	e.m.observe(e.id, "upload", start, err)
	if err == nil {
		e.in.Add(float64(f.Size))
	}
	return f, err
}

func (e *element) Open(ctx context.Context, fileID string, off, n int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := e.Element.Open(ctx, fileID, off, n)
	e.m.observe(e.id, "download", start, err)
	if err != nil {
		return nil, err
	}
	return &countingReader{rc: rc, c: e.out}, nil
}

func (e *element) Stat(ctx context.Context, fileID string) (*artstore.File, error) {
	start := time.Now()
	f, err := e.Element.Stat(ctx, fileID)
	e.m.observe(e.id, "stat", start, err)
	return f, err
}

func (e *element) Update(ctx context.Context, fileID string, p artstore.FilePatch) (*artstore.File, error) {
	start := time.Now()
	f, err := e.Element.Update(ctx, fileID, p)
	e.m.observe(e.id, "update", start, err)
	return f, err
}

func (e *element) Delete(ctx context.Context, fileID string) error {
	start := time.Now()
	err := e.Element.Delete(ctx, fileID)
	e.m.observe(e.id, "delete", start, err)
	return err
}

func (e *element) Purge(ctx context.Context, fileID string) error {
	start := time.Now()
	err := e.Element.Purge(ctx, fileID)
	e.m.observe(e.id, "purge", start, err)
	return err
}

// countingReader counts the bytes served. It forwards WriteTo, so that a
// local file still reaches the socket with sendfile.
type countingReader struct {
	rc io.ReadCloser
	c  prometheus.Counter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.c.Add(float64(n))
	return n, err
}

func (r *countingReader) WriteTo(w io.Writer) (int64, error) {
	n, err := io.Copy(w, r.rc) // through rc.WriteTo when it has one
	r.c.Add(float64(n))
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }
