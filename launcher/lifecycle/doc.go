// Package lifecycle decides what happens to the installed versions of an
// app: which one starts, when a new one is trusted, where every way back
// goes, what is held back and what cleanup removes. It is pure: no files,
// no clock, no network. The launcher loads the records (Records), tells a
// Lifecycle what happened (an event, with the time inside it), carries out
// the Decision it gets back, and saves the records again.
//
// # States of a version
//
// Every version the launcher knows about has a Record in one of these phases:
//
//   - good: known-good. It passed probation, or it was installed when no
//     known-good version was installed (the first install), or probation is
//     off. Every way back goes to a good version.
//   - probation: unproven. Installed after a known-good version; its first
//     probation_starts starts are watched. A version that is superseded
//     before its probation ends stays unproven.
//   - held: held back, for its own fault only: it crashed at start in
//     probation_failures watched starts (cause "crashed"), or the user rolled
//     back from it (cause "rolled back"). It is not started, not installed
//     again, and removed first by cleanup. `launcher --unhold` undoes it.
//   - no-entry: a release that lacked the configured entry point when it was
//     installed. A configuration problem, not the release's fault: it is not
//     installed, and not downloaded again while launcher.json's entry stays
//     the same. An installed version found lacking the entry point at start
//     keeps its phase and notes the missing entry (MissingEntry).
//
// # Rules
//
//  1. Once anything was installed there is a known-good version, and while
//     the current version is unproven the newest other known-good version
//     (its fall-back) is never removed. Cleanup keeps the current version,
//     the newest known-good other than it, then the newest good, then the
//     newest unproven, then held versions up to keep_versions: it removes
//     held and entry-less versions first, then unproven, then the oldest
//     good ones.
//  2. Every way back (probation's automatic rollback, --rollback) goes to
//     the newest known-good version other than the current one, never to a
//     held, entry-less or unproven one. --rollback acts on the version the
//     user ran: if current changed while it waited for the lock, it refuses.
//  3. Only the release's own fault holds it back. A start that ended by a
//     signal the launcher passed on (the user, a logout), a launcher killed
//     while the app ran, a missing entry point and a non-zero exit after the
//     window are not failures. A failed start is a non-zero exit within the
//     window, or an executable that could not be run. When probation rolls
//     back, the known-good version is started at once and watched: if it
//     fails the same way (same exit code), the failure is the environment's,
//     the hold is lifted and the release is current again.
//  4. Probation ends after probation_starts starts once none is still
//     running; a start whose end was never reported (a killed launcher)
//     stops counting as running once the window has passed.
//  5. A held-back required release blocks the releases after it until a
//     newer required release is published: required releases are never
//     skipped.
//  6. Records of versions that are neither installed nor able to matter
//     again (older than every installed version) are forgotten, so holds do
//     not outlive the versions.
//  7. The status (Describe) is derived from the same records, with the
//     reason each version is kept, held back or unproven.
//
// A version found installed without a record (an install interrupted
// between moving the folder into place and recording it) is unproven.
// Records written by older launchers (held_back and probation in
// state.json) are converted by Migrate.
package lifecycle
