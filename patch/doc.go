// Package patch handles the bytes of a release: deterministic tar.gz archives
// of a folder, safe extraction of untrusted archives, application of patch
// chains from file to file, and streaming hashes.
package patch
