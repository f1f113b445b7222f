package upload

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/tufup-go/tufup/internal/testenv"
)

// s3Dest starts versitygw with a bucket for the test and returns the
// destination, with the publisher's credentials in the environment.
func s3Dest(t *testing.T, bucket, policy string) (*testenv.S3, string) {
	s := testenv.StartS3(t)
	s.Bucket(bucket, policy)
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent") // never the tester's own
	return s, "s3://" + bucket + "/apps/demo"
}

func writes(s *testenv.S3) []string {
	var w []string
	for _, r := range s.Requests() {
		if r.Writes() {
			w = append(w, r.Method+" "+r.Path)
		}
	}
	return w
}

// Publishing to S3: every object with its headers and sha256, a dry run and
// a rerun that write nothing, and a second release that writes just its
// files.
func TestPublishS3(t *testing.T) {
	s, dest := s3Dest(t, "updates", "")
	tr := newTestRepo(t)
	tr.add("1.0.0", 32<<10)
	ctx := context.Background()
	var out bytes.Buffer
	sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL, Out: &out})
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, out.String())
	}
	local, err := readLocal(tr.repoDir())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Uploaded != len(local.files) {
		t.Fatalf("uploaded %d of %d files\n%s", sum.Uploaded, len(local.files), out.String())
	}
	for key, f := range local.files {
		info, err := s.Client().StatObject(ctx, "updates", "apps/demo/"+key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		wantCache := CacheMutable
		if strings.HasPrefix(key, "targets/") || key == "metadata/1.root.json" {
			wantCache = CacheImmutable
		}
		wantType := map[bool]string{true: "application/json", false: "application/gzip"}[strings.HasSuffix(key, ".json")]
		if strings.HasSuffix(key, ".patch") {
			wantType = "application/octet-stream"
		}
		if enc := info.Metadata.Get("Content-Encoding"); enc != "" {
			t.Errorf("%s is served with Content-Encoding %q", key, enc)
		}
		if info.Size != f.size || info.UserMetadata["Sha256"] != f.sha256 || info.Metadata.Get("Cache-Control") != wantCache || info.ContentType != wantType {
			t.Errorf("%s: size %d sha256 %q Cache-Control %q Content-Type %q; want %d %q %q %q", key, info.Size, info.UserMetadata["Sha256"],
				info.Metadata.Get("Cache-Control"), info.ContentType, f.size, f.sha256, wantCache, wantType)
		}
	}

	// A rerun that changes nothing writes nothing.
	s.ResetRequests()
	if sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL}); err != nil || sum.Uploaded != 0 || len(writes(s)) != 0 {
		t.Fatalf("rerun: %+v, %v, writes %v", sum, err, writes(s))
	}
	t.Logf("a rerun that changes nothing: %d requests, none writing", len(s.Requests()))

	// An object with other headers (uploaded by hand, say) gets them right.
	key := "apps/demo/metadata/timestamp.json"
	if _, err := s.Client().CopyObject(ctx, minio.CopyDestOptions{Bucket: "updates", Object: key, ReplaceMetadata: true,
		UserMetadata: map[string]string{"Cache-Control": "max-age=86400", "sha256": local.files["metadata/timestamp.json"].sha256}},
		minio.CopySrcOptions{Bucket: "updates", Object: key}); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	if sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL}); err != nil || sum.Uploaded != 1 || len(writes(s)) != 1 {
		t.Fatalf("publish over stale headers: %+v, %v, writes %v", sum, err, writes(s))
	}
	if info, err := s.Client().StatObject(ctx, "updates", key, minio.StatObjectOptions{}); err != nil || info.Metadata.Get("Cache-Control") != CacheMutable {
		t.Fatalf("after publish: Cache-Control %q, %v", info.Metadata.Get("Cache-Control"), err)
	}

	tr.add("1.1.0", 32<<10)
	s.ResetRequests()
	out.Reset()
	if sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL, Out: &out, DryRun: true}); err != nil || sum.Uploaded != 5 || len(writes(s)) != 0 {
		t.Fatalf("dry run: %+v, %v, writes %v\n%s", sum, err, writes(s), out.String())
	}
	if !strings.Contains(out.String(), "would upload targets/demo-1.1.0.tar.gz") {
		t.Errorf("dry run output:\n%s", out.String())
	}
	if _, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, w := range writes(s) {
		if strings.HasSuffix(w, StateKey) {
			continue
		}
		keys = append(keys, strings.TrimPrefix(w, "PUT /updates/apps/demo/"))
	}
	want := []string{"targets/demo-1.1.0.patch", "targets/demo-1.1.0.tar.gz", "metadata/targets.json", "metadata/snapshot.json", "metadata/timestamp.json"}
	if !slices.Equal(phaseSorted(keys), want) {
		t.Fatalf("second release wrote %v, want %v", keys, want)
	}

	// Withdrawn, then pruned once the grace period is over.
	if err := tr.r.RemoveLatest(); err != nil {
		t.Fatal(err)
	}
	if sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL, Prune: true, Grace: time.Hour}); err != nil || sum.Deleted != 0 {
		t.Fatalf("prune within the grace period: %+v, %v", sum, err)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	if sum, err := Publish(ctx, tr.repoDir(), dest, Options{Endpoint: s.URL, Prune: true, Grace: time.Hour, Now: later}); err != nil || sum.Deleted != 2 {
		t.Fatalf("prune after the grace period: %+v, %v", sum, err)
	}
	for _, name := range []string{"demo-1.1.0.tar.gz", "demo-1.1.0.patch", "demo-1.0.0.tar.gz"} {
		_, err := s.Client().StatObject(ctx, "updates", "apps/demo/targets/"+name, minio.StatObjectOptions{})
		if gone := minio.ToErrorResponse(err).StatusCode == http.StatusNotFound; gone != (name != "demo-1.0.0.tar.gz") {
			t.Errorf("%s: after pruning, stat says %v", name, err)
		}
	}
}

// Big targets go up in parts (minio-go's multipart upload) and keep their
// sha256.
func TestS3Multipart(t *testing.T) {
	s, dest := s3Dest(t, "big", "")
	st, err := newS3Store(context.Background(), mustParse(t, dest), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 17<<20)
	rand.Read(data)
	var done int64
	if err := st.put(context.Background(), "targets/big.tar.gz", bytes.NewReader(data), int64(len(data)), sha256Hex(data), func(n int64) { done += n }); err != nil {
		t.Fatal(err)
	}
	if done != int64(len(data)) {
		t.Errorf("progress reported %d bytes of %d", done, len(data))
	}
	parts := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPut && strings.Contains(r.Query, "partNumber=") {
			parts++
		}
	}
	if parts < 2 {
		t.Errorf("a 17 MiB target went up in %d part(s), want a multipart upload", parts)
	}
	if sum, current, err := st.hash(context.Background(), "targets/big.tar.gz"); err != nil || sum != sha256Hex(data) || !current {
		t.Errorf("stored sha256 %q (headers current: %v), %v; want %s", sum, current, err, sha256Hex(data))
	}
}
