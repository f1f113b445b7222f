// Package repo is the build-machine side: keys, roles, thresholds and expiry
// of a TUF repository in Python tufup's format, adding and removing releases,
// signing, and verifying a whole repository offline.
package repo
