package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/blob/blobtest"
	"github.com/artstore/artstore/internal/blob/s3"
	"github.com/artstore/artstore/internal/errs"
	"github.com/artstore/artstore/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T, cfg s3.Config) *s3.Backend {
	t.Helper()
	b, err := s3.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformance runs the suite with the smallest part size S3 allows, so
// that its multi-megabyte cases exercise multipart uploads.
func TestConformance(t *testing.T) {
	testenv.S3(t) // skip once here rather than in every subtest
	blobtest.Run(t, func(t *testing.T) blob.Backend {
		cfg := testenv.S3(t)
		cfg.PartSize = s3.MinPartSize
		return open(t, cfg)
	})
}

// TestMultipartUnknownSize puts 40 MiB of unknown size with the default
// part size, which takes three parts.
func TestMultipartUnknownSize(t *testing.T) {
	b := open(t, testenv.S3(t))
	defer b.Close()
	ctx := context.Background()
	const size = 40 << 20
	var seed [32]byte
	seed[0] = 40
	h := sha256.New()
	n, err := b.Put(ctx, "big/object", io.TeeReader(io.LimitReader(rand.NewChaCha8(seed), size), h), -1)
	if err != nil || n != size {
		t.Fatalf("Put = %d, %v; want %d", n, err, size)
	}
	want := h.Sum(nil)
	rc, err := b.Get(ctx, "big/object", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h.Reset()
	if n, err := io.Copy(h, rc); err != nil || n != size {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Error("content differs")
	}
}

// rawClient connects to the gateway directly, to look behind the backend.
func rawClient(t *testing.T, cfg s3.Config) minio.Core {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(cfg.Endpoint, "http://"), &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return minio.Core{Client: c}
}

func incompleteUploads(t *testing.T, c minio.Core, cfg s3.Config) []string {
	t.Helper()
	var keys []string
	for u := range c.ListIncompleteUploads(context.Background(), cfg.Bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// TestOpenAbortsUploads checks that Open aborts the multipart uploads a
// crashed process left under its prefix, and only those.
func TestOpenAbortsUploads(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.S3(t)
	open(t, cfg).Close() // creates the bucket
	c := rawClient(t, cfg)
	mine := cfg.Prefix + "/crashed/upload"
	other := "elsewhere/upload"
	for _, key := range []string{mine, other} {
		if _, err := c.NewMultipartUpload(ctx, cfg.Bucket, key, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	open(t, cfg).Close()
	if got := incompleteUploads(t, c, cfg); len(got) != 1 || got[0] != other {
		t.Errorf("after Open the open uploads are %q, want only %q", got, other)
	}
}

// failAfter fails after n bytes.
type failAfter struct{ n int }

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrClosedPipe
	}
	p = p[:min(len(p), f.n)]
	clear(p)
	f.n -= len(p)
	return len(p), nil
}

// TestFailedPutAbortsUpload checks that a Put failing after some parts were
// uploaded leaves no multipart upload behind.
func TestFailedPutAbortsUpload(t *testing.T) {
	cfg := testenv.S3(t)
	cfg.PartSize = s3.MinPartSize
	b := open(t, cfg)
	defer b.Close()
	if _, err := b.Put(context.Background(), "fails", &failAfter{n: 12 << 20}, -1); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if got := incompleteUploads(t, rawClient(t, cfg), cfg); len(got) != 0 {
		t.Errorf("failed Put left uploads for %q", got)
	}
}

// TestPrefixIsolation checks that two backends on one bucket with
// different prefixes do not see each other's objects.
func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	cfg1 := testenv.S3(t)
	cfg2 := cfg1
	cfg2.Prefix = cfg1.Prefix + "-other/"
	b1, b2 := open(t, cfg1), open(t, cfg2)
	defer b1.Close()
	defer b2.Close()
	if _, err := b1.Put(ctx, "k", strings.NewReader("1"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Stat(ctx, "k"); !errs.Is(errs.NotExist, err) {
		t.Errorf("Stat through the other prefix: %v, want NotExist", err)
	}
	n := 0
	if err := b2.List(ctx, "", func(blob.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("List through the other prefix: %d objects, %v", n, err)
	}
}

// TestUnreachable checks that a store nobody answers for is Unavailable.
// It needs no gateway.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = s3.Open(ctx, s3.Config{Endpoint: "http://" + addr, Bucket: "bucket", AccessKey: "k", SecretKey: "secretsecret", Region: "us-east-1"})
	if !errs.Is(errs.Unavailable, err) {
		t.Errorf("Open of a closed port: %v (kind %v), want Unavailable", err, errs.KindOf(err))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []s3.Config{
		{Bucket: "bucket"},
		{Endpoint: "h:1", Bucket: "Bad_Bucket"},
		{Endpoint: "ftp://h", Bucket: "bucket"},
		{Endpoint: "http://h/path", Bucket: "bucket"},
		{Endpoint: "h:1"},
		{Endpoint: "h:1", Bucket: "bucket", Prefix: "a/../b"},
		{Endpoint: "h:1", Bucket: "bucket", PartSize: 1 << 20},
	} {
		if _, err := s3.Open(context.Background(), cfg); !errs.Is(errs.Invalid, err) {
			t.Errorf("Open(%+v): %v, want Invalid", cfg, err)
		}
	}
}
