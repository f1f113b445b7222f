package upload

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Store is a bucket and a key prefix in it.
type s3Store struct {
	c      *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

// shaKey is the user metadata (x-amz-meta-sha256) holding an object's
// sha256, which S3's ETag is not (it is an MD5, or something else for
// multipart uploads).
const shaKey = "sha256"

// newS3Store connects to s3://BUCKET/PREFIX at endpoint (AWS when empty)
// with the standard credential chain: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then ~/.aws/credentials
// (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), then the instance's IAM
// role. The region comes from AWS_REGION or AWS_DEFAULT_REGION, else is
// asked of the bucket.
func newS3Store(ctx context.Context, u *url.URL, endpoint string) (*s3Store, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("destination %s names no bucket: want s3://BUCKET/PREFIX", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("destination %s: want s3://BUCKET/PREFIX, without credentials, query or fragment (credentials come from the environment, ~/.aws/credentials or the instance role)", u.Redacted())
	}
	host, secure := "s3.amazonaws.com", true
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
		if (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || strings.Trim(e.Path, "/") != "" || e.User != nil {
			return nil, fmt.Errorf("endpoint %s: want http(s)://HOST[:PORT], without a path or credentials", e.Redacted())
		}
		host, secure = e.Host, e.Scheme == "https"
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{Filename: os.Getenv("AWS_SHARED_CREDENTIALS_FILE")},
		&credentials.IAM{},
	})
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w", host, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	s := &s3Store{c: c, bucket: u.Host, prefix: prefix}
	ok, err := c.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, s.explain(fmt.Sprintf("bucket %s at %s", s.bucket, host), err)
	}
	if !ok {
		return nil, fmt.Errorf("bucket %s does not exist at %s (create it first; see docs/hosting.md)", s.bucket, host)
	}
	return s, nil
}

// explain adds a hint to the errors a publisher can fix.
func (s *s3Store) explain(what string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%s: %w (check the credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials or the instance role, and that they may list, read, write and delete in the bucket)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *s3Store) list(ctx context.Context, dir string) (map[string]object, error) {
	out := map[string]object{}
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + dir, Recursive: true}) {
		if o.Err != nil {
			return nil, s.explain("list s3://"+s.bucket+"/"+s.prefix+dir, o.Err)
		}
		out[strings.TrimPrefix(o.Key, s.prefix)] = object{size: o.Size}
	}
	return out, nil
}

func (s *s3Store) hash(ctx context.Context, key string) (string, bool, error) {
	info, err := s.c.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return "", false, s.explain("read metadata of s3://"+s.bucket+"/"+s.prefix+key, err)
	}
	// Objects uploaded by hand, or before a header changed here, get
	// the headers right with the next publish.
	current := info.Metadata.Get("Cache-Control") == cacheControl(key) &&
		info.ContentType == contentType(key) && info.Metadata.Get("Content-Encoding") == ""
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, shaKey) {
			return strings.ToLower(v), current, nil
		}
	}
	return "", current, nil
}

func (s *s3Store) get(ctx context.Context, key string, max int64) ([]byte, error) {
	o, err := s.c.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		var data []byte
		data, err = io.ReadAll(io.LimitReader(o, max+1))
		o.Close()
		if err == nil && int64(len(data)) > max {
			err = fmt.Errorf("larger than %d bytes", max)
		}
		if err == nil {
			return data, nil
		}
	}
	if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound || r.Code == minio.NoSuchKey {
		return nil, errNotFound
	}
	return nil, s.explain("read s3://"+s.bucket+"/"+s.prefix+key, err)
}

func (s *s3Store) put(ctx context.Context, key string, r io.Reader, size int64, sha string, progress func(int64)) error {
	opts := minio.PutObjectOptions{
		ContentType:  contentType(key),
		CacheControl: cacheControl(key),
		UserMetadata: map[string]string{shaKey: sha},
		// Over plain http minio-go would otherwise sign the body in
		// aws-chunked form, and some S3-compatible servers (versitygw)
		// keep that as the object's Content-Encoding, which launchers
		// rightly refuse. The server checks the MD5 instead.
		DisableContentSha256: true,
		SendContentMd5:       true,
	}
	if progress != nil {
		opts.Progress = progressReader(progress)
	}
	// S3 makes an object visible only once all of it is there, multipart
	// uploads included; an interrupted one leaves parts that a lifecycle
	// rule (AbortIncompleteMultipartUpload) cleans up.
	if _, err := s.c.PutObject(ctx, s.bucket, s.prefix+key, r, size, opts); err != nil {
		return s.explain("write s3://"+s.bucket+"/"+s.prefix+key, err)
	}
	return nil
}

func (s *s3Store) remove(ctx context.Context, key string) error {
	if err := s.c.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return s.explain("delete s3://"+s.bucket+"/"+s.prefix+key, err)
	}
	return nil
}

// progressReader is minio-go's progress hook: it reads from it as many
// bytes as it has sent.
type progressReader func(int64)

func (p progressReader) Read(b []byte) (int, error) {
	p(int64(len(b)))
	return len(b), nil
}
