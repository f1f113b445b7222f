package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/tufup-go/tufup/versions"
)

// Phase is where a version stands (see the package doc).
type Phase string

// The phases of a version.
const (
	Good      Phase = "good"
	Probation Phase = "probation"
	Held      Phase = "held"
	NoEntry   Phase = "no-entry"
)

// Cause tells why a version is held back.
type Cause string

// The causes of a hold: only the release's own fault.
const (
	Crashed    Cause = "crashed"
	RolledBack Cause = "rolled back"
)

// Record is what the launcher remembers about one version.
type Record struct {
	Phase Phase `json:"phase"`
	Cause Cause `json:"cause,omitempty"`
	// Reason says in words how the version got into its phase.
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// Required tells the release was a required stepping stone.
	Required bool `json:"required,omitempty"`
	// SHA256 is the signed hash of the archive the version was installed
	// from (empty when unknown).
	SHA256 string `json:"sha256,omitempty"`
	// Probation: watched starts, failed ones, and starts whose end was not
	// reported yet.
	Starts   int         `json:"starts,omitempty"`
	Failures int         `json:"failures,omitempty"`
	LastCode int         `json:"last_exit_code,omitempty"`
	Open     []time.Time `json:"open_starts,omitempty"`
	// Compare names the known-good version started right after probation
	// held this one back: if it fails the same way, the hold is lifted.
	Compare string `json:"compare_with,omitempty"`
	// WasGood remembers that a held version was known-good before.
	WasGood bool `json:"was_good,omitempty"`
	// MissingEntry is the configured entry point the version lacked.
	MissingEntry string `json:"missing_entry,omitempty"`
}

// Rollback is the newest rollback, for the status.
type Rollback struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	Time time.Time `json:"time"`
	Why  string    `json:"why"`
}

// Records is the persistent state: a record per known version.
type Records struct {
	Versions     map[string]*Record `json:"versions"`
	LastRollback *Rollback          `json:"last_rollback,omitempty"`
}

// Config is the part of launcher.json the rules depend on.
type Config struct {
	ProbationStarts   int // 0: no probation
	ProbationFailures int
	Window            time.Duration
	KeepVersions      int
	// Entry is the configured entry point for this OS.
	Entry string
}

// Disk is what the launcher found on disk.
type Disk struct {
	Current   string   // "" when there is none
	Installed []string // version folder names
}

// Level is the importance of a Note.
type Level int

// Levels of notes, as the launcher logs them.
const (
	Info Level = iota
	Warn
	Error
)

// Note is something the launcher should log (and the user may need to know).
type Note struct {
	Level Level
	Msg   string
}

// Decision is what the launcher must carry out after an event.
type Decision struct {
	// Current, when set, is where the current pointer must point.
	Current string
	// Start, when set, is the version to start now.
	Start string
	// Watch asks to run the app as a child and report its Exit.
	Watch bool
	// Delete lists versions to remove, first ones first.
	Delete []string
	Notes  []Note
}

func (d *Decision) note(l Level, format string, args ...any) {
	d.Notes = append(d.Notes, Note{l, fmt.Sprintf(format, args...)})
}

// Errors of refused requests.
var (
	ErrNoPrevious     = errors.New("no previous version to roll back to: no other known-good version is installed (launcher --status lists each installed version and why it is kept)")
	ErrCurrentChanged = errors.New("current changed while waiting for another launcher")
	ErrNotHeld        = errors.New("not held back")
	ErrNotStarted     = errors.New("the current version never ran")
	ErrNoEntry        = errors.New("no installed version has the entry point")
)

// Lifecycle applies events to the records of one install.
type Lifecycle struct {
	cfg  Config
	rec  Records
	disk Disk
	// found are the versions New found installed without a record: the
	// one being installed is among them until Install records it.
	found map[string]bool
}

// New reconciles the records with the disk: versions installed without a
// record become unproven; records of versions that are gone are dropped
// unless they still matter (a hold, a missing entry). rec is not modified.
func New(cfg Config, rec Records, disk Disk, now time.Time) *Lifecycle {
	l := &Lifecycle{cfg: cfg, disk: Disk{Current: disk.Current}}
	l.rec.LastRollback = rec.LastRollback
	l.rec.Versions = map[string]*Record{}
	for v, r := range rec.Versions {
		if r == nil {
			continue
		}
		if _, err := versions.Parse(v); err != nil {
			continue
		}
		c := *r
		c.Open = slices.Clone(r.Open)
		l.rec.Versions[v] = &c
	}
	for _, v := range disk.Installed {
		if _, err := versions.Parse(v); err == nil {
			l.disk.Installed = append(l.disk.Installed, v)
		}
	}
	sortVersions(l.disk.Installed)
	if l.disk.Current != "" && !l.installed(l.disk.Current) {
		l.disk.Current = ""
	}
	for _, v := range l.disk.Installed {
		r := l.rec.Versions[v]
		if r != nil && r.Phase == NoEntry { // installed after all: the entry was fixed
			r = nil
		}
		if r == nil {
			if l.found == nil {
				l.found = map[string]bool{}
			}
			l.found[v] = true
		}
		switch {
		case r == nil && l.KnownGood("") == "":
			l.rec.Versions[v] = &Record{Phase: Good, Since: now,
				Reason: "found installed without a record, with no known-good version before it"}
		case r == nil:
			l.rec.Versions[v] = &Record{Phase: Probation, Since: now,
				Reason: "found installed without a record (an interrupted install)"}
		}
	}
	l.forget()
	return l
}

// forget drops records that no longer matter.
func (l *Lifecycle) forget() {
	var oldest *versions.Version
	if len(l.disk.Installed) > 0 {
		v, _ := versions.Parse(l.disk.Installed[0])
		oldest = &v
	}
	for v, r := range l.rec.Versions {
		if l.installed(v) {
			continue
		}
		pv, _ := versions.Parse(v)
		switch {
		case r.Phase == NoEntry && r.MissingEntry != l.cfg.Entry:
			delete(l.rec.Versions, v) // launcher.json changed: worth a try again
		case r.Phase != Held && r.Phase != NoEntry:
			delete(l.rec.Versions, v)
		case oldest != nil && pv.Compare(*oldest) < 0:
			delete(l.rec.Versions, v) // can never be offered again
		}
	}
}

// Records returns the records to save.
func (l *Lifecycle) Records() Records { return l.rec }

// Current is the current version as the lifecycle sees it.
func (l *Lifecycle) Current() string { return l.disk.Current }

// Record returns the record of v, or nil.
func (l *Lifecycle) Record(v string) *Record {
	if r := l.rec.Versions[v]; r != nil {
		c := *r
		c.Open = slices.Clone(r.Open)
		return &c
	}
	return nil
}

// Installed lists the installed versions, oldest first.
func (l *Lifecycle) Installed() []string { return slices.Clone(l.disk.Installed) }

func (l *Lifecycle) installed(v string) bool { return slices.Contains(l.disk.Installed, v) }

func (l *Lifecycle) phase(v string) Phase {
	if r := l.rec.Versions[v]; r != nil {
		return r.Phase
	}
	return ""
}

// KnownGood returns the newest installed known-good version other than
// except, or "".
func (l *Lifecycle) KnownGood(except string) string {
	for i := len(l.disk.Installed) - 1; i >= 0; i-- {
		v := l.disk.Installed[i]
		if v != except && l.phase(v) == Good {
			return v
		}
	}
	return ""
}

func (l *Lifecycle) setCurrent(d *Decision, v string) {
	if v != l.disk.Current {
		d.Current = v
		l.disk.Current = v
	}
}

// Release describes a release being installed.
type Release struct {
	Required bool
	SHA256   string
}

// Installed records that version v was moved into versions/ and is to
// become current. It is known-good when no other known-good version is
// installed (or probation is off); otherwise its probation begins.
func (l *Lifecycle) Install(v string, rel Release, now time.Time) Decision {
	var d Decision
	if !l.installed(v) {
		l.disk.Installed = append(l.disk.Installed, v)
		sortVersions(l.disk.Installed)
	}
	r := l.rec.Versions[v]
	if l.found[v] {
		r = nil // New's guess, made before this event told what v is
	}
	fallback := l.KnownGood(v)
	switch {
	case r != nil && r.Phase == Good:
		// Installed before and trusted: switching back to it needs no probation.
	case fallback == "":
		r = &Record{Phase: Good, Since: now, Reason: "first install"}
	case l.cfg.ProbationStarts == 0:
		r = &Record{Phase: Good, Since: now, Reason: "installed with probation off"}
	default:
		r = &Record{Phase: Probation, Since: now, Reason: "installed; falls back to " + fallback}
		d.note(Info, "%s installed; on probation for %d starts, falls back to %s", v, l.cfg.ProbationStarts, fallback)
	}
	r.Required = rel.Required
	if rel.SHA256 != "" {
		r.SHA256 = rel.SHA256
	}
	r.MissingEntry = ""
	l.rec.Versions[v] = r
	l.setCurrent(&d, v)
	return d
}

// LacksEntry records that release v was extracted without the configured
// entry point and was not installed. It is not downloaded again while the
// configured entry stays the same.
func (l *Lifecycle) LacksEntry(v string, now time.Time) Decision {
	var d Decision
	if l.installed(v) {
		l.rec.Versions[v].MissingEntry = l.cfg.Entry
	} else {
		l.rec.Versions[v] = &Record{Phase: NoEntry, Since: now, MissingEntry: l.cfg.Entry,
			Reason: fmt.Sprintf("has no entry point %s (launcher.json \"entry\")", l.cfg.Entry)}
	}
	d.note(Error, "release %s has no entry point %s (launcher.json \"entry\"): not installed, and not downloaded again until launcher.json's entry changes; this is a configuration problem, not the release's fault", v, l.cfg.Entry)
	return d
}

// StartInput is what the launcher knows when the user starts the app.
type StartInput struct {
	Now time.Time
	// NoEntry lists installed versions whose folder lacks the configured
	// entry point.
	NoEntry []string
}

// Start chooses the version to start: the current one when it can run and
// is not held back, otherwise the newest known-good one that can. A start
// of a version on probation is watched.
func (l *Lifecycle) Start(in StartInput) (Decision, error) {
	var d Decision
	l.expire(in.Now, &d)
	runnable := func(v string) bool { return l.installed(v) && !slices.Contains(in.NoEntry, v) }
	for _, v := range l.disk.Installed {
		r := l.rec.Versions[v]
		if slices.Contains(in.NoEntry, v) {
			if r.MissingEntry != l.cfg.Entry {
				d.note(Warn, "versions/%s has no entry point %s (launcher.json \"entry\"): a configuration problem, not the release's fault", v, l.cfg.Entry)
			}
			r.MissingEntry = l.cfg.Entry
		} else {
			r.MissingEntry = ""
		}
	}
	pick := l.disk.Current
	if pick == "" || !runnable(pick) || l.phase(pick) == Held {
		pick = ""
		for _, want := range []Phase{Good, Probation, Held} {
			for i := len(l.disk.Installed) - 1; i >= 0 && pick == ""; i-- {
				if v := l.disk.Installed[i]; l.phase(v) == want && runnable(v) {
					pick = v
				}
			}
		}
		if pick == "" {
			return d, fmt.Errorf("%w %s (launcher.json \"entry\"): installed are %v", ErrNoEntry, l.cfg.Entry, l.disk.Installed)
		}
		if l.disk.Current != "" {
			d.note(Warn, "%s cannot be started; starting %s instead", l.disk.Current, pick)
		}
		l.setCurrent(&d, pick)
	}
	d.Start = pick
	r := l.rec.Versions[pick]
	switch r.Phase {
	case Probation:
		r.Starts++
		r.Open = append(r.Open, in.Now)
		d.Watch = true
		d.note(Info, "starting %s on probation: start %d of %d", pick, r.Starts, l.cfg.ProbationStarts)
	case Good:
		d.Watch = l.comparing(pick) != ""
	}
	return d, nil
}

// expire forgets starts whose end was never reported once the window has
// passed (they did not fail within it), and ends probations that are done.
func (l *Lifecycle) expire(now time.Time, d *Decision) {
	for _, v := range l.disk.Installed {
		r := l.rec.Versions[v]
		if r.Phase != Probation {
			continue
		}
		r.Open = slices.DeleteFunc(r.Open, func(t time.Time) bool { return now.Sub(t) > l.cfg.Window })
		l.maybePass(v, now, d)
	}
}

func (l *Lifecycle) maybePass(v string, now time.Time, d *Decision) {
	r := l.rec.Versions[v]
	if r.Phase == Probation && r.Starts >= l.cfg.ProbationStarts && len(r.Open) == 0 {
		*r = Record{Phase: Good, Since: now, Required: r.Required, SHA256: r.SHA256, MissingEntry: r.MissingEntry,
			Reason: fmt.Sprintf("passed probation (%d starts, %d failed)", r.Starts, r.Failures)}
		d.note(Info, "%s passed probation", v)
	}
}

// comparing returns the held version waiting for a comparison start of
// known-good version v.
func (l *Lifecycle) comparing(v string) string {
	for _, h := range sortedKeys(l.rec.Versions) {
		if r := l.rec.Versions[h]; r.Phase == Held && r.Compare == v {
			return h
		}
	}
	return ""
}

// Exit is how a watched start ended.
type Exit struct {
	Version string
	Started time.Time // as given to Start
	Ended   time.Time
	Code    int
	// Forwarded tells the launcher passed a signal on to the app while it
	// ran (the user or a logout ended it).
	Forwarded bool
	// NotRun tells the executable could not be run at all.
	NotRun bool
}

// Exit records how a watched start ended. A version on probation passes
// it, or after too many failed starts is held back while current goes back
// to the known-good version, which starts at once, watched, to tell the
// release's fault from the environment's.
func (l *Lifecycle) Exit(e Exit) Decision {
	var d Decision
	r := l.rec.Versions[e.Version]
	if r == nil {
		return d
	}
	if i := slices.IndexFunc(r.Open, e.Started.Equal); i >= 0 {
		r.Open = slices.Delete(r.Open, i, i+1)
	}
	failed := e.NotRun || (e.Code != 0 && e.Ended.Sub(e.Started) < l.cfg.Window)
	if e.Forwarded {
		failed = false
		d.note(Info, "%s ended by a signal the launcher passed on (exit %d): not counted as a failure", e.Version, e.Code)
	}
	switch r.Phase {
	case Good:
		h := l.comparing(e.Version)
		if h == "" || e.Forwarded {
			return d
		}
		hr := l.rec.Versions[h]
		hr.Compare = ""
		if !failed || e.Code != hr.LastCode {
			d.note(Warn, "%s runs where %s failed: %s stays held back", e.Version, h, h)
			return d
		}
		d.note(Warn, "%s fails the same way as %s (exit %d): the environment's fault, not the release's; %s is current again",
			e.Version, h, e.Code, h)
		*hr = Record{Phase: Probation, Since: e.Ended, Required: hr.Required, SHA256: hr.SHA256,
			Reason: fmt.Sprintf("hold lifted: %s failed the same way", e.Version)}
		if l.installed(h) && l.disk.Current == e.Version {
			l.setCurrent(&d, h)
		}
	case Probation:
		if failed {
			r.Failures++
			r.LastCode = e.Code
			d.note(Warn, "%s on probation failed to start (exit %d within %s): %d of %d allowed failures",
				e.Version, e.Code, l.cfg.Window, r.Failures, l.cfg.ProbationFailures-1)
		}
		if r.Failures >= l.cfg.ProbationFailures {
			l.failProbation(e.Version, e.Ended, &d)
			return d
		}
		l.maybePass(e.Version, e.Ended, &d)
	}
	return d
}

func (l *Lifecycle) failProbation(v string, now time.Time, d *Decision) {
	r := l.rec.Versions[v]
	back := l.KnownGood(v)
	if back == "" {
		d.note(Error, "%s failed its probation, but no known-good version is installed to go back to", v)
		return
	}
	reason := fmt.Sprintf("failed probation: %d of %d starts failed (last exit code %d)", r.Failures, r.Starts, r.LastCode)
	*r = Record{Phase: Held, Cause: Crashed, Since: now, Required: r.Required, SHA256: r.SHA256,
		Starts: r.Starts, Failures: r.Failures, LastCode: r.LastCode, Reason: reason}
	d.note(Error, "rolled back: %s failed its probation (%s); starting %s", v, reason, back)
	if l.disk.Current == v {
		r.Compare = back
		l.setCurrent(d, back)
		d.Start, d.Watch = back, true
		l.rec.LastRollback = &Rollback{From: v, To: back, Time: now, Why: reason}
	}
}

// Rollback is the user's --rollback from ran, the version current named
// when they asked. It holds ran back and points current at the newest
// other known-good version.
func (l *Lifecycle) Rollback(ran string, now time.Time) (Decision, error) {
	var d Decision
	cur := l.disk.Current
	if cur != ran {
		return d, fmt.Errorf("%w: %s when --rollback was asked, %s now; nothing rolled back (start the app to run %s, or run --rollback again to go back from it)",
			ErrCurrentChanged, ran, cur, cur)
	}
	r := l.rec.Versions[cur]
	if r != nil && r.Phase == Probation && r.Starts == 0 {
		// An update (a background one, --update-only) installed it after
		// the app the user is unhappy with was started: holding it back
		// would hold back what may be the fix, unseen.
		return d, fmt.Errorf("%w: %s was installed by an update and has not run yet; nothing rolled back (start the app to run %s, then --rollback goes back from it)",
			ErrNotStarted, cur, cur)
	}
	back := l.KnownGood(cur)
	if back == "" {
		return d, fmt.Errorf("rollback from %s: %w", cur, ErrNoPrevious)
	}
	why := "rolled back by the user on " + now.UTC().Format(time.RFC3339)
	*r = Record{Phase: Held, Cause: RolledBack, Since: now, Required: r.Required, SHA256: r.SHA256,
		WasGood: r.Phase == Good, Reason: why}
	l.setCurrent(&d, back)
	l.rec.LastRollback = &Rollback{From: cur, To: back, Time: now, Why: "by the user"}
	d.note(Info, "rolled back from %s to %s; %s is held back", cur, back, cur)
	return d, nil
}

// Unhold undoes the hold of v (launcher --unhold): an installed version
// becomes what it was before (known-good, or unproven again); a version no
// longer installed may be installed again.
func (l *Lifecycle) Unhold(v string, now time.Time) (Decision, error) {
	var d Decision
	r := l.rec.Versions[v]
	if r == nil || (r.Phase != Held && r.Phase != NoEntry && r.MissingEntry == "") {
		return d, fmt.Errorf("%s is %w", v, ErrNotHeld)
	}
	switch {
	case !l.installed(v):
		delete(l.rec.Versions, v)
	case r.WasGood:
		*r = Record{Phase: Good, Since: now, Required: r.Required, SHA256: r.SHA256, Reason: "hold undone by the user"}
	case r.Phase == Good || r.Phase == Probation:
		r.MissingEntry = ""
	default:
		*r = Record{Phase: Probation, Since: now, Required: r.Required, SHA256: r.SHA256, Reason: "hold undone by the user"}
	}
	d.note(Info, "%s is no longer held back", v)
	return d, nil
}

// Candidate is a release the repository offers, newer than current and in
// the channel.
type Candidate struct {
	Version  versions.Version
	Required bool
}

// Eligible filters candidates (any order) down to those that may be
// installed: not held back, not lacking the entry point for this
// configuration, and not after a held-back required release unless a newer
// required release came since. blockedBy names such a blocking release.
func (l *Lifecycle) Eligible(cands []Candidate) (ok []Candidate, blockedBy string) {
	sorted := slices.Clone(cands)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Version.Compare(sorted[j].Version) < 0 })
	for _, c := range sorted {
		excluded := l.excluded(c.Version)
		if c.Required {
			if excluded {
				blockedBy = c.Version.String()
				continue
			}
			blockedBy = ""
		}
		if blockedBy == "" && !excluded {
			ok = append(ok, c)
		}
	}
	return ok, blockedBy
}

func (l *Lifecycle) excluded(v versions.Version) bool {
	for name, r := range l.rec.Versions {
		if pv, err := versions.Parse(name); err == nil && pv.Compare(v) == 0 {
			return r.Phase == Held || r.Phase == NoEntry || (r.MissingEntry != "" && r.MissingEntry == l.cfg.Entry)
		}
	}
	return false
}

// HashChanged warns about installed versions whose signed archive hash in
// the repository (published: version -> sha256) differs from the one they
// were installed from: the publisher re-used the version number.
func (l *Lifecycle) HashChanged(published map[string]string) []Note {
	var notes []Note
	for _, v := range l.disk.Installed {
		r := l.rec.Versions[v]
		if p, ok := published[v]; ok && r.SHA256 != "" && p != r.SHA256 {
			notes = append(notes, Note{Warn, fmt.Sprintf(
				"the repository now signs other bytes for installed version %s (sha256 %s, installed from %s): a version number was published twice; this install keeps the build it verified",
				v, p, r.SHA256)})
		}
	}
	return notes
}

// Cleanup decides which versions to remove (see rule 1).
func (l *Lifecycle) Cleanup() Decision {
	var d Decision
	keep := l.keep()
	rank := func(v string) int {
		r := l.rec.Versions[v]
		switch {
		case r.Phase == Held || r.MissingEntry != "":
			return 0
		case r.Phase == Probation:
			return 1
		}
		return 2
	}
	var del []string
	for _, v := range l.disk.Installed {
		if !slices.Contains(keep, v) {
			del = append(del, v)
		}
	}
	sort.SliceStable(del, func(i, j int) bool { return rank(del[i]) < rank(del[j]) })
	d.Delete = del
	return d
}

// keep lists the versions cleanup keeps, most important first.
func (l *Lifecycle) keep() []string {
	var keep []string
	add := func(v string) {
		if v != "" && !slices.Contains(keep, v) {
			keep = append(keep, v)
		}
	}
	add(l.disk.Current)
	add(l.KnownGood(l.disk.Current))
	n := max(l.cfg.KeepVersions, 2)
	rank := []func(*Record) bool{
		func(r *Record) bool { return r.Phase == Good && r.MissingEntry == "" },
		func(r *Record) bool { return r.Phase == Probation && r.MissingEntry == "" },
		func(r *Record) bool { return true }, // held back: kept only while there is room
	}
	for _, want := range rank {
		for i := len(l.disk.Installed) - 1; i >= 0 && len(keep) < n; i-- {
			if v := l.disk.Installed[i]; want(l.rec.Versions[v]) {
				add(v)
			}
		}
	}
	return keep
}

// VersionInfo is one version as --status shows it.
type VersionInfo struct {
	Version   string `json:"version"`
	Phase     Phase  `json:"phase"`
	Installed bool   `json:"installed"`
	Current   bool   `json:"current,omitempty"`
	Required  bool   `json:"required,omitempty"`
	// Why says why the version is kept, held back or unproven.
	Why string `json:"why"`
}

// Describe lists every known version, newest first, with the reason for
// its state: what --status shows.
func (l *Lifecycle) Describe() []VersionInfo {
	keep := l.keep()
	back := l.KnownGood(l.disk.Current)
	var out []VersionInfo
	for _, v := range sortedKeys(l.rec.Versions) {
		r := l.rec.Versions[v]
		in := VersionInfo{Version: v, Phase: r.Phase, Installed: l.installed(v), Current: v == l.disk.Current, Required: r.Required}
		why := r.Reason
		switch {
		case r.Phase == Probation:
			why = fmt.Sprintf("on probation: %d of %d starts, %d failed (%d allowed)", r.Starts, l.cfg.ProbationStarts, r.Failures, l.cfg.ProbationFailures-1)
			if fb := l.KnownGood(v); fb != "" {
				why += "; falls back to " + fb
			}
			if !in.Current {
				why += "; superseded before its probation ended"
			}
		case r.Phase == Held:
			why = "held back: " + r.Reason + "; `launcher --unhold " + v + "` undoes it"
			if r.Required {
				why += "; a required release: releases after it are not installed until a newer required release is published"
			}
		}
		if r.MissingEntry != "" && r.Phase != NoEntry {
			why += fmt.Sprintf("; lacks the entry point %s (launcher.json \"entry\")", r.MissingEntry)
		}
		switch {
		case !in.Installed:
		case in.Current:
			why = "current; " + why
		case v == back:
			why = "known-good, kept as the way back (--rollback, probation); " + why
		case slices.Contains(keep, v):
			why = "kept (keep_versions); " + why
		default:
			why = "to be removed at the next cleanup; " + why
		}
		in.Why = why
		out = append(out, in)
	}
	return out
}

// LegacyProbation is the probation record of older launchers.
type LegacyProbation struct {
	Version  string
	Starts   int
	Failures int
}

// Migrate builds records from what older launchers kept (held_back and
// probation in state.json): versions held back stay held, the version on
// probation keeps its counts, every other installed version is known-good.
// A start that was never reported (their "running") is not carried over.
func Migrate(heldBack map[string]string, p *LegacyProbation, installed []string, now time.Time) Records {
	rec := Records{Versions: map[string]*Record{}}
	for v, why := range heldBack {
		cause := RolledBack
		if len(why) >= len("failed probation") && why[:len("failed probation")] == "failed probation" {
			cause = Crashed
		}
		rec.Versions[v] = &Record{Phase: Held, Cause: cause, Since: now, Reason: why}
	}
	for _, v := range installed {
		switch {
		case rec.Versions[v] != nil:
		case p != nil && p.Version == v:
			rec.Versions[v] = &Record{Phase: Probation, Since: now, Starts: p.Starts, Failures: p.Failures, Reason: "installed"}
		default:
			rec.Versions[v] = &Record{Phase: Good, Since: now, Reason: "installed before the launcher kept version records"}
		}
	}
	return rec
}

func sortVersions(vs []string) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, _ := versions.Parse(vs[i])
		b, _ := versions.Parse(vs[j])
		return a.Compare(b) < 0
	})
}

// sortedKeys returns the versions of m, newest first.
func sortedKeys(m map[string]*Record) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortVersions(keys)
	slices.Reverse(keys)
	return keys
}
