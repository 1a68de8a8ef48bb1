package s3

import (
	"context"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/artstore/artstore/internal/blob"
	"github.com/artstore/artstore/internal/errs"
)

// maxObjectKey is S3's limit on the length of a full object key.
const maxObjectKey = 1024

// objectKey validates key and returns the S3 object key for it.
func (b *Backend) objectKey(op, key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", errs.E(op, err)
	}
	k := b.prefix + key
	if len(k) > maxObjectKey {
		return "", errs.E(op, errs.Invalid, errs.Msg("key %q too long with the store's prefix", key))
	}
	return k, nil
}

// Put uploads r under key. Objects up to the part size go in one PUT whose
// body streams from r; larger ones, and all of unknown size, go in a
// multipart upload that minio-go fills one part buffer at a time. S3 makes
// the object visible only when the PUT or CompleteMultipartUpload
// succeeds, and minio-go aborts a multipart upload that fails, so a failed
// Put leaves the previous object, if any, in place.
//
// Memory: one Put holds at most one part (PartSize bytes, 16 MiB by
// default) plus minio-go's small signing buffers. NumThreads is 1 and
// ConcurrentStreamParts is off, and r is wrapped so that it never offers
// ReadAt, which would switch minio-go to parallel section uploads.
//
// When size is not negative the reader must yield exactly size bytes;
// anything else is Invalid and fails the upload before it completes.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	const op = "s3.Put"
	k, err := b.objectKey(op, key)
	if err != nil {
		return 0, err
	}
	src := &sizedReader{r: r, size: size}
	if size == 0 {
		// minio-go may send an empty body without reading at all, so
		// check now that the reader is indeed empty.
		if _, err := src.Read(nil); err != io.EOF {
			return 0, errs.E(op, err)
		}
	}
	_, err = b.client.PutObject(ctx, b.bucket, k, src, size, minio.PutObjectOptions{
		ContentType:    "application/octet-stream",
		PartSize:       uint64(b.partSize),
		NumThreads:     1,
		SendContentMd5: false,
	})
	written, rerr := src.finish()
	// The reader's own failure explains the upload's better than the
	// transport error it causes, which would look like an outage.
	if rerr != nil {
		return 0, errs.E(op, rerr)
	}
	if err != nil {
		return 0, errs.E(op, kindOf(err), err)
	}
	return written, nil
}

// Get stats the object to check the range, then fetches the range. The
// fetch is made conditional on the ETag the stat saw, so that a Put landing
// in between cannot make us read a range of a different object; that race
// is retried a few times.
func (b *Backend) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	const op = "s3.Get"
	k, err := b.objectKey(op, key)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		info, err := b.client.StatObject(ctx, b.bucket, k, minio.StatObjectOptions{})
		if err != nil {
			return nil, errs.E(op, kindOf(err), err)
		}
		m, err := blob.CheckRange(info.Size, off, n)
		if err != nil {
			return nil, errs.E(op, err)
		}
		if m == 0 {
			// HTTP has no empty byte range.
			return io.NopCloser(strings.NewReader("")), nil
		}
		var opts minio.GetObjectOptions
		if info.ETag != "" {
			if err := opts.SetMatchETag(info.ETag); err != nil {
				return nil, errs.E(op, errs.Internal, err)
			}
		}
		if off != 0 || m != info.Size {
			if err := opts.SetRange(off, off+m-1); err != nil {
				return nil, errs.E(op, errs.Internal, err)
			}
		}
		body, _, _, err := b.core.GetObject(ctx, b.bucket, k, opts)
		if err == nil {
			return body, nil
		}
		if minio.ToErrorResponse(err).Code == "PreconditionFailed" && attempt < 3 {
			continue
		}
		return nil, errs.E(op, kindOf(err), err)
	}
}

// Stat describes the object under key.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Info, error) {
	const op = "s3.Stat"
	k, err := b.objectKey(op, key)
	if err != nil {
		return blob.Info{}, err
	}
	info, err := b.client.StatObject(ctx, b.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, errs.E(op, kindOf(err), err)
	}
	return blob.Info{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete removes the object under key. S3 already treats deleting a
// missing object as success; a NoSuchKey from a stricter server is
// accepted too.
func (b *Backend) Delete(ctx context.Context, key string) error {
	const op = "s3.Delete"
	k, err := b.objectKey(op, key)
	if err != nil {
		return err
	}
	err = b.client.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{})
	if err != nil && kindOf(err) != errs.NotExist {
		return errs.E(op, kindOf(err), err)
	}
	return nil
}

// List lists the objects under the backend's prefix plus prefix. Keys that
// are not valid blob keys, such as the "dir/" markers some tools create,
// are skipped.
func (b *Backend) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	const op = "s3.List"
	// Cancelling stops minio-go's listing goroutine when fn ends the
	// walk early.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := minio.ListObjectsOptions{Prefix: b.prefix + prefix, Recursive: true}
	for obj := range b.client.ListObjects(lctx, b.bucket, opts) {
		if obj.Err != nil {
			return errs.E(op, kindOf(obj.Err), obj.Err)
		}
		key, ok := strings.CutPrefix(obj.Key, b.prefix)
		if !ok || blob.CheckKey(key) != nil {
			continue
		}
		if err := fn(blob.Info{Key: key, Size: obj.Size, ModTime: obj.LastModified}); err != nil {
			return err
		}
	}
	// minio-go ends the channel quietly when the context ends.
	if err := ctx.Err(); err != nil {
		return errs.E(op, err)
	}
	return nil
}
