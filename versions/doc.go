// Package versions parses and orders release versions (SemVer 2.0 and
// PEP 440, on one ordering), filters them by update channel, and parses
// tufup target names such as "myapp-1.2.0.tar.gz". It does no I/O.
//
// The ordering is PEP 440's, as Python's packaging.version (which tufup
// uses) implements it. Text is read as PEP 440 first, so that every version
// a tufup repository holds means what it means to tufup; text that only
// SemVer accepts ("1.0.0-alpha.beta", "1.0.0-x.7.z.92") is read by
// github.com/blang/semver and placed on the same ordering: a SemVer
// pre-release starting with a PEP 440 pre-release spelling (alpha, beta, rc,
// a, b, c, pre, preview) is that kind, and its remaining identifiers are
// compared as SemVer compares them, so "1.0.0-rc.1" equals "1.0.0rc1" and
// the SemVer spec's own precedence examples hold; any other SemVer
// pre-release sorts after the release's dev releases and before its alphas.
package versions
