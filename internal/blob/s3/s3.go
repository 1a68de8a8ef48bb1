// Package s3 implements blob.Backend on an S3-compatible object store with
// minio-go. It owns the objects under its key prefix in one bucket: each
// object key is the prefix followed by the blob key, and multipart uploads
// under the prefix that are still open when the backend starts are treated
// as the remains of a crash and aborted.
package s3

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// Part sizes. S3 rejects parts below 5 MiB (except the last) and above
// 5 GiB.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
)

// Config says where the objects live.
type Config struct {
	// Endpoint is host:port, or a URL such as http://127.0.0.1:7070
	// whose scheme then decides Secure.
	Endpoint string
	Bucket   string
	// Prefix is prepended to every key; a "/" is added when missing.
	Prefix    string
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool
	// PartSize is the size of each part of a multipart upload, and the
	// object size above which one is used. Zero means DefaultPartSize.
	// Every Put holds at most one part in memory.
	PartSize int64
}

// Backend stores objects in an S3 bucket.
type Backend struct {
	client    *minio.Client
	core      minio.Core
	transport *http.Transport
	bucket    string
	prefix    string
	partSize  int64
}

var _ blob.Backend = (*Backend)(nil)

// Open connects to the store, creates the bucket if it does not exist,
// checks that the credentials may list it, and aborts multipart uploads
// left open under the prefix. That last step assumes, as ArtStore does,
// that one process at a time owns the prefix: it would also abort another
// process's uploads in progress.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	const op = "s3.Open"
	host, secure, err := parseEndpoint(cfg.Endpoint, cfg.Secure)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, errs.E(op, errs.Invalid, errs.Msg("bucket %q: %v", cfg.Bucket, err))
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := blob.CheckKey(prefix); err != nil {
			return nil, errs.E(op, errs.Invalid, errs.Msg("prefix %q is not a valid key path", cfg.Prefix))
		}
		prefix += "/"
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < MinPartSize || partSize > MaxPartSize {
		return nil, errs.E(op, errs.Invalid, errs.Msg("part size %d outside [%d, %d]", partSize, MinPartSize, MaxPartSize))
	}

	// Our own transport, so that Close can release its idle connections.
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    transport,
	})
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
	}
	b := &Backend{
		client:    client,
		core:      minio.Core{Client: client},
		transport: transport,
		bucket:    cfg.Bucket,
		prefix:    prefix,
		partSize:  partSize,
	}
	if err := b.ensureBucket(ctx, cfg.Region); err != nil {
		transport.CloseIdleConnections()
		return nil, errs.E(op, kindOf(err), err)
	}
	if err := b.abortUploads(ctx); err != nil {
		transport.CloseIdleConnections()
		return nil, errs.E(op, kindOf(err), err)
	}
	return b, nil
}

// parseEndpoint splits an endpoint into the host:port minio-go wants and
// whether to use TLS.
func parseEndpoint(endpoint string, secure bool) (string, bool, error) {
	if endpoint == "" {
		return "", false, errs.Msg("no endpoint")
	}
	if !strings.Contains(endpoint, "://") {
		return endpoint, secure, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, err
	}
	switch u.Scheme {
	case "http":
		secure = false
	case "https":
		secure = true
	default:
		return "", false, errs.Msg("endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false, errs.Msg("endpoint %q must be scheme://host[:port] only", endpoint)
	}
	return u.Host, secure, nil
}

// ensureBucket creates the bucket unless it exists, then lists it once to
// prove the credentials are good for more than a HEAD.
func (b *Backend) ensureBucket(ctx context.Context, region string) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return err
	}
	if !ok {
		err := b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{Region: region})
		// Another process may have won the race to create it.
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return err
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range b.client.ListObjects(lctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, MaxKeys: 1}) {
		if obj.Err != nil {
			return obj.Err
		}
		break
	}
	return nil
}

// abortUploads aborts every multipart upload open under the prefix. Each is
// the remains of a Put that never completed, so no object refers to its
// parts, but the store keeps (and bills) them until they are aborted.
func (b *Backend) abortUploads(ctx context.Context) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type upload struct{ key, id string }
	var uploads []upload
	for u := range b.client.ListIncompleteUploads(lctx, b.bucket, b.prefix, true) {
		if u.Err != nil {
			return u.Err
		}
		uploads = append(uploads, upload{u.Key, u.UploadID})
	}
	for _, u := range uploads {
		err := b.core.AbortMultipartUpload(ctx, b.bucket, u.key, u.id)
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			return err
		}
	}
	return nil
}

// Kind returns "s3".
func (b *Backend) Kind() string { return "s3" }

// Close releases idle connections. Calls in flight are not interrupted.
func (b *Backend) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

// kindOf classifies an error from minio-go.
func kindOf(err error) errs.Kind {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code != "" {
		switch resp.Code {
		case "NoSuchKey", "NotFound":
			return errs.NotExist
		case "InvalidRange", "InvalidArgument", "KeyTooLongError":
			return errs.Invalid
		case "EntityTooLarge":
			return errs.TooLarge
		case "XMinioStorageFull", "StorageFull":
			return errs.NoSpace
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "XMinioServerNotInitialized":
			return errs.Unavailable
		}
		if resp.StatusCode >= 500 {
			return errs.Unavailable
		}
		// Access and signature errors are a misconfiguration of the
		// store, not something the API client did: leave them
		// unclassified, which the edges treat as internal.
		return errs.Other
	}
	// A deadline that expires while minio-go is still retrying means the
	// store did not answer in time; a cancelled context is the caller's
	// own doing and stays unclassified.
	switch {
	case errors.Is(err, context.Canceled):
		return errs.Other
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Unavailable
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) {
		return errs.Unavailable
	}
	return errs.Other
}
