// Package versions parses and orders release versions (SemVer 2.0 and
// PEP 440, on one ordering), filters them by update channel, and parses
// tufup target names such as "myapp-1.2.0.tar.gz". It does no I/O.
package versions
