package repo

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/versions"
)

// PublishedFile, next to .tufup-repo-config, remembers the archive of every
// version ever published, even after remove-latest: a version number is
// never published again with other bytes, since installs that have the old
// build would keep it and call themselves up to date. It is a file of its
// own because Python tufup passes every key of .tufup-repo-config to its
// Repository as an argument and fails on unknown ones; it ignores this file.
const PublishedFile = ".tufup-repo-published"

// published is one archive as it was published.
type published struct {
	SHA256 string    `json:"sha256"`
	Length int64     `json:"length"`
	Time   time.Time `json:"first_published"`
}

func (r *Repo) publishedPath() string { return filepath.Join(r.dir, PublishedFile) }

func (r *Repo) readPublished() (map[string]published, error) {
	b, err := os.ReadFile(r.publishedPath())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]published{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.publishedPath(), err)
	}
	m := map[string]published{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%v): restore it from a backup; it remembers which bytes each version number was published with", r.publishedPath(), err)
	}
	return m, nil
}

// checkNotRepublished refuses an archive whose name was published before
// with other bytes.
func (r *Repo) checkNotRepublished(name string, tf *metadata.TargetFiles) error {
	m, err := r.readPublished()
	if err != nil {
		return err
	}
	p, ok := m[name]
	if !ok || p.SHA256 == hex.EncodeToString(tf.Hashes["sha256"]) {
		return nil
	}
	v := name
	if t, err := versions.ParseTarget(name); err == nil {
		v = t.Version.String()
	}
	return fmt.Errorf("version %s was published on %s with other bytes (%s, sha256 %s); installs that have that build would keep it and report it up to date: publish it under a new version number (recorded in %s)",
		v, p.Time.UTC().Format("2006-01-02"), name, p.SHA256, PublishedFile)
}

// recordPublished adds every archive of targets not recorded yet.
func (r *Repo) recordPublished(targets map[string]*metadata.TargetFiles) error {
	m, err := r.readPublished()
	if err != nil {
		return err
	}
	changed := false
	for name, tf := range targets {
		if t, err := versions.ParseTarget(name); err != nil || t.Kind != versions.Archive {
			continue
		}
		if _, ok := m[name]; ok {
			continue
		}
		m[name] = published{SHA256: hex.EncodeToString(tf.Hashes["sha256"]), Length: tf.Length, Time: r.now().UTC()}
		changed = true
	}
	if !changed {
		return nil
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(r.publishedPath(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("record the published versions: %w", err)
	}
	return nil
}
