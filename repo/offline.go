package repo

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/patch"
)

// Offline signing. A role whose keys are not on the build machine (root,
// typically) is changed in three steps:
//
//  1. any changing command with Options.UnsignedOut writes the new role to a
//     file instead of publishing (see commit);
//  2. SignFile adds a signature to that file where the key is;
//  3. Publish checks the file against the repository and publishes it,
//     re-signing the roles that depend on it with the keys at hand.

// SignFile adds the signature of private key keyName, looked up in
// opts.KeyDirs, to the metadata file at path, and describes what was signed
// on opts.Out. The key id is the one the file's own root lists the key
// under (for root files), else the key's securesystemslib id, which is how
// tufup and tufup-repo list keys.
func SignFile(path, keyName string, opts Options) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	data, err := readMetadataFile(path)
	if err != nil {
		return err
	}
	f, err := parseRole(data, "")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	kr := newKeyring(opts.KeyDirs, opts.Password)
	k, err := kr.findByName(keyName)
	if err != nil {
		return err
	}
	id := k.ID()
	if rf, ok := f.(tufRole[metadata.RootType]); ok {
		if ids := keyIDsFor(&rf.m.Signed, k.Public); len(ids) > 0 {
			id = ids[0]
		} else {
			fmt.Fprintf(out, "note: key %s is not listed in this root; it signs as a key of the previous root\n", keyName)
		}
	}
	payload, err := f.signedBytes()
	if err != nil {
		return err
	}
	describeRole(out, f)
	addSignature(f, payload, id, k)
	signed, err := f.marshal()
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(path, signed, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "signed %s v%d in %s with key %s (%s); it now has %d signature(s)\n",
		f.role(), f.version(), path, keyName, shortID(id), len(f.signatures()))
	return nil
}

// describeRole prints what a person signing offline should check.
func describeRole(w io.Writer, f roleFile) {
	fmt.Fprintf(w, "%s v%d, expires %s\n", f.role(), f.version(), f.expires().UTC().Format(time.RFC3339))
	switch rf := f.(type) {
	case tufRole[metadata.RootType]:
		for _, role := range Roles {
			ids, threshold := roleKeys(&rf.m.Signed, role)
			short := make([]string, len(ids))
			for i, id := range ids {
				short[i] = shortID(id)
			}
			fmt.Fprintf(w, "  %-9s threshold %d of keys [%s]\n", role, threshold, strings.Join(short, " "))
		}
	case tufRole[metadata.TargetsType]:
		names := make([]string, 0, len(rf.m.Signed.Targets))
		for name := range rf.m.Signed.Targets {
			names = append(names, name)
		}
		slices.Sort(names)
		fmt.Fprintf(w, "  %d targets: %s\n", len(names), strings.Join(names, ", "))
	case tufRole[metadata.SnapshotType]:
		for name, m := range rf.m.Signed.Meta {
			fmt.Fprintf(w, "  %s v%d\n", name, m.Version)
		}
	case tufRole[metadata.TimestampType]:
		for name, m := range rf.m.Signed.Meta {
			fmt.Fprintf(w, "  %s v%d\n", name, m.Version)
		}
	}
}

// Publish publishes a role file made with Options.UnsignedOut and signed
// elsewhere: it must be the next version of its role, unexpired, and (after
// adding the signatures of keys at hand) meet every threshold; the roles
// depending on it are then re-signed as for any change.
func (r *Repo) Publish(path string) error {
	data, err := readMetadataFile(path)
	if err != nil {
		return err
	}
	f, err := parseRole(data, "")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	role := f.role()
	if !f.expires().After(r.now()) {
		return fmt.Errorf("%s: %s v%d expired at %s", path, role, f.version(), f.expires().UTC().Format(time.RFC3339))
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	c := &change{cfg: r.cfg.clone(), forced: map[string]bool{}, expires: map[string]time.Time{}, loaded: role, unlock: unlock}
	defer c.done()
	if r.cur == nil {
		// First publication of a repository initialised with an offline root.
		if role != RoleRoot || f.version() != 1 {
			return fmt.Errorf("%s: the repository has no metadata yet, so only root v1 can be published (this is %s v%d)", path, role, f.version())
		}
		now := r.now()
		c.next = &roleSet{
			targets:   metadata.Targets(expiryIn(now, r.cfg.ExpirationDays[RoleTargets])),
			snapshot:  metadata.Snapshot(expiryIn(now, r.cfg.ExpirationDays[RoleSnapshot])),
			timestamp: metadata.Timestamp(expiryIn(now, r.cfg.ExpirationDays[RoleTimestamp])),
		}
		c.next.set(f)
		return r.commit(c)
	}
	if c.next, err = r.cur.clone(); err != nil {
		return err
	}
	cur := r.cur.get(role).version()
	if f.version() != cur+1 {
		return fmt.Errorf("%s holds %s v%d, but the repository's %s is v%d: only v%d can be published (was %s changed since the file was written?)",
			path, role, f.version(), role, cur, cur+1, role)
	}
	if rf, ok := f.(tufRole[metadata.TargetsType]); ok {
		if err := r.checkNewTargets(rf.m.Signed.Targets); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	c.next.set(f)
	r.printf("publishing %s v%d from %s", role, f.version(), path)
	return r.commit(c)
}

// checkNewTargets makes sure every target that a targets file adds or
// changes is in targets/ with the length and sha256 it lists.
func (r *Repo) checkNewTargets(targets map[string]*metadata.TargetFiles) error {
	for name, tf := range targets {
		if old := r.cur.targets.Signed.Targets[name]; old != nil && old.Equal(*tf) {
			continue
		}
		if err := checkTargetFile(filepath.Join(r.TargetsDir(), name), name, tf); err != nil {
			return err
		}
	}
	return nil
}

// checkTargetFile checks a file's length and sha256 against its entry.
func checkTargetFile(path, name string, tf *metadata.TargetFiles) error {
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("target %s: not a bare file name", name)
	}
	info, err := patch.HashFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("target %s: file %s is missing", name, path)
		}
		return fmt.Errorf("target %s: %w", name, err)
	}
	if info.Size != tf.Length {
		return fmt.Errorf("target %s: %s is %d bytes, metadata says %d", name, path, info.Size, tf.Length)
	}
	want, ok := tf.Hashes["sha256"]
	if !ok {
		return fmt.Errorf("target %s: metadata lists no sha256 hash", name)
	}
	if hex.EncodeToString(want) != info.SHA256 {
		return fmt.Errorf("target %s: sha256 of %s is %s, metadata says %s", name, path, info.SHA256, hex.EncodeToString(want))
	}
	return nil
}
