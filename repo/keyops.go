package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Init creates a repository in dir: key pairs for every key name in
// cfg.KeyMap (reusing a key whose <name>.pub already exists, so a root key
// made on an offline machine can be brought in as a .pub), metadata version
// 1 of all four roles, an empty targets directory, and .tufup-repo-config.
// It refuses to touch a directory that already holds a repository. A role
// whose threshold exceeds its named keys gets generated names ("root-2").
func Init(dir string, cfg Config, opts Options) (*Repo, error) {
	cfg = cfg.clone()
	for _, role := range Roles {
		for n := len(cfg.KeyMap[role]) + 1; n <= cfg.Thresholds[role]; n++ {
			cfg.KeyMap[role] = append(cfg.KeyMap[role], role+"-"+strconv.Itoa(n))
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := newRepo(dir, cfg, opts)
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%s already exists in %s: this is a repository already; refusing to overwrite it", ConfigFile, dir)
	}
	for _, d := range []string{r.MetadataDir(), r.TargetsDir()} {
		entries, err := os.ReadDir(d)
		if err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("%s is not empty: refusing to overwrite an existing repository", d)
		}
	}
	for _, d := range []string{r.KeysDir(), r.MetadataDir(), r.TargetsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}

	now := r.now()
	root := metadata.Root(expiryIn(now, cfg.ExpirationDays[RoleRoot]))
	root.Signed.ConsistentSnapshot = false
	created := map[string]*Key{}
	for _, role := range Roles {
		var ids []string
		for _, name := range cfg.KeyMap[role] {
			k := created[name]
			if k == nil {
				var err error
				if k, err = r.initKey(name, slices.Contains(cfg.EncryptedKeys, name)); err != nil {
					return nil, err
				}
				created[name] = k
			}
			id := k.ID()
			root.Signed.Keys[id] = k.tufKey()
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) < cfg.Thresholds[role] {
			return nil, fmt.Errorf("role %s: threshold %d but only %d distinct keys", role, cfg.Thresholds[role], len(ids))
		}
		root.Signed.Roles[role] = &metadata.Role{KeyIDs: ids, Threshold: cfg.Thresholds[role]}
	}
	next := &roleSet{
		root:      root,
		targets:   metadata.Targets(expiryIn(now, cfg.ExpirationDays[RoleTargets])),
		snapshot:  metadata.Snapshot(expiryIn(now, cfg.ExpirationDays[RoleSnapshot])),
		timestamp: metadata.Timestamp(expiryIn(now, cfg.ExpirationDays[RoleTimestamp])),
	}
	c := &change{next: next, cfg: cfg, forced: map[string]bool{}, expires: map[string]time.Time{}}
	if err := r.commit(c); err != nil {
		return nil, err
	}
	if opts.UnsignedOut != "" {
		if err := r.writeConfig(cfg); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// initKey returns the key <name> of the keys directory, creating it when
// its .pub file does not exist.
func (r *Repo) initKey(name string, encrypted bool) (*Key, error) {
	pubPath := filepath.Join(r.KeysDir(), name+".pub")
	if _, err := os.Stat(pubPath); err == nil {
		k, err := ReadPublicKey(pubPath)
		if err != nil {
			return nil, err
		}
		r.printf("using existing key %s", r.rel(pubPath))
		return k, nil
	}
	return r.createKey(name, encrypted)
}

func (r *Repo) createKey(name string, encrypted bool) (*Key, error) {
	k, err := GenerateKey(name)
	if err != nil {
		return nil, err
	}
	var password []byte
	if encrypted {
		if r.opts.NewPassword == nil {
			return nil, fmt.Errorf("key %s: no source for a new key's password", name)
		}
		if password, err = r.opts.NewPassword(name); err != nil {
			return nil, fmt.Errorf("password for new key %s: %w", name, err)
		}
		if len(password) == 0 {
			return nil, fmt.Errorf("password for new key %s is empty", name)
		}
	}
	if err := WriteKeyPair(r.KeysDir(), k, password); err != nil {
		return nil, err
	}
	r.keys.rescan()
	how := "plain"
	if encrypted {
		how = "encrypted"
	}
	r.printf("created key %s (%s) and %s.pub, key id %s", r.rel(filepath.Join(r.KeysDir(), name)), how, name, k.ID())
	return k, nil
}

// CreateKey makes a new key pair <name>, <name>.pub in the keys directory
// without giving it a role (see AddKey, ReplaceKey).
func (r *Repo) CreateKey(name string, encrypted bool) (*Key, error) {
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.KeysDir(), 0o755); err != nil {
		return nil, err
	}
	k, err := r.createKey(name, encrypted)
	if err != nil {
		return nil, err
	}
	if encrypted && !slices.Contains(r.cfg.EncryptedKeys, name) {
		cfg := r.cfg.clone()
		cfg.EncryptedKeys = append(cfg.EncryptedKeys, name)
		if err := r.writeConfig(cfg); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func checkRole(role string) error {
	if !slices.Contains(Roles, role) {
		return fmt.Errorf("unknown role %q (roles: root, targets, snapshot, timestamp)", role)
	}
	return nil
}

// rootKeyID returns the id root lists public key k under, or the key's
// securesystemslib id when root does not list it yet.
func rootKeyID(root *metadata.RootType, k *Key) string {
	if ids := keyIDsFor(root, k.Public); len(ids) > 0 {
		return ids[0]
	}
	return k.ID()
}

// AddKey gives role one more key, the public key <name>.pub, and publishes
// the new root (signed by the current and the new root keys).
func (r *Repo) AddKey(role, name string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	k, err := r.keys.publicByName(name)
	if err != nil {
		return err
	}
	root := &c.next.root.Signed
	id := rootKeyID(root, k)
	if slices.Contains(roleIDs(root, role), id) {
		return fmt.Errorf("key %s (%s) is already a key of %s", name, shortID(id), role)
	}
	root.Keys[id] = k.tufKey()
	root.Roles[role].KeyIDs = append(root.Roles[role].KeyIDs, id)
	if !slices.Contains(c.cfg.KeyMap[role], name) {
		c.cfg.KeyMap[role] = append(c.cfg.KeyMap[role], name)
	}
	r.printf("root: added key %s (%s) to %s", name, shortID(id), role)
	return r.commit(c)
}

// ReplaceKey puts key newName in place of oldName in every role that has
// it (key rotation, e.g. after a compromise). The new root is signed by the
// old root's keys and the new ones, so installed clients follow it.
func (r *Repo) ReplaceKey(oldName, newName string) error {
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	oldKey, err := r.keys.publicByName(oldName)
	if err != nil {
		return err
	}
	newKey, err := r.keys.publicByName(newName)
	if err != nil {
		return err
	}
	root := &c.next.root.Signed
	oldIDs := keyIDsFor(root, oldKey.Public)
	if len(oldIDs) == 0 {
		return fmt.Errorf("key %s (%s) is not a key of any role in root.json", oldName, shortID(oldKey.ID()))
	}
	newID := rootKeyID(root, newKey)
	var roles []string
	for _, role := range Roles {
		ids := roleIDs(root, role)
		if !slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(oldIDs, id) }) {
			continue
		}
		ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(oldIDs, id) })
		if !slices.Contains(ids, newID) {
			ids = append(ids, newID)
		}
		if len(ids) < root.Roles[role].Threshold {
			return fmt.Errorf("replacing %s by %s would leave %s with %d key(s) for a threshold of %d (%s already is one of its keys)",
				oldName, newName, role, len(ids), root.Roles[role].Threshold, newName)
		}
		root.Roles[role].KeyIDs = ids
		roles = append(roles, role)
		names := slices.DeleteFunc(slices.Clone(c.cfg.KeyMap[role]), func(n string) bool { return n == oldName })
		if !slices.Contains(names, newName) {
			names = append(names, newName)
		}
		c.cfg.KeyMap[role] = names
	}
	root.Keys[newID] = newKey.tufKey()
	for _, id := range oldIDs {
		used := false
		for _, role := range Roles {
			used = used || slices.Contains(roleIDs(root, role), id)
		}
		if !used {
			delete(root.Keys, id)
		}
	}
	c.cfg.EncryptedKeys = slices.DeleteFunc(c.cfg.EncryptedKeys, func(n string) bool { return n == oldName })
	r.printf("root: replaced key %s (%s) by %s (%s) in %v", oldName, shortID(oldIDs[0]), newName, shortID(newID), roles)
	return r.commit(c)
}

// SetThreshold sets how many signatures role needs.
func (r *Repo) SetThreshold(role string, n int) error {
	if err := checkRole(role); err != nil {
		return err
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	root := &c.next.root.Signed
	ids := roleIDs(root, role)
	if n < 1 || n > len(ids) {
		return fmt.Errorf("threshold %d for %s: must be between 1 and its number of keys, %d (add keys first with keys add %s NAME)", n, role, len(ids), role)
	}
	r.printf("root: threshold of %s %d -> %d", role, root.Roles[role].Threshold, n)
	root.Roles[role].Threshold = n
	c.cfg.Thresholds[role] = n
	return r.commit(c)
}

// Sign re-signs role with a fresh expiry, now + days (days <= 0: the
// role's period from the config), and the roles that depend on it. Run for
// the timestamp by a cron job well within its period.
func (r *Repo) Sign(role string, days float64) error {
	if err := checkRole(role); err != nil {
		return err
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	c.forced[role] = true
	if days > 0 {
		c.expires[role] = expiryIn(r.now(), days)
	}
	return r.commit(c)
}
