package repo

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/tufup-go/tufup/versions"
)

// RoleStatus is one role's version and expiry.
type RoleStatus struct {
	Role    string
	Version int64
	Expires time.Time
	// Period is the role's validity period from the config (expiration_days).
	Period time.Duration
	// Left is the time until expiry (negative once expired).
	Left time.Duration
	// Warning is set when the role has expired or has less than half its
	// period left: re-signing then (timestamp: daily with a 1-day period
	// means twice per period) leaves room for one failed run.
	Warning string
}

// Status summarises a repository for people: releases and role expiry.
type Status struct {
	App      string
	Releases []Release
	Roles    []RoleStatus
}

// Status reads the repository's releases and the state of its roles.
func (r *Repo) Status() (Status, error) {
	if err := r.requireMetadata(); err != nil {
		return Status{}, err
	}
	rels, err := r.Releases()
	if err != nil {
		return Status{}, err
	}
	st := Status{App: r.cfg.AppName, Releases: rels}
	now := r.now()
	for _, role := range Roles {
		f := r.cur.get(role)
		rs := RoleStatus{
			Role:    role,
			Version: f.version(),
			Expires: f.expires(),
			Period:  time.Duration(r.cfg.ExpirationDays[role] * float64(24*time.Hour)),
			Left:    f.expires().Sub(now),
		}
		switch {
		case rs.Left <= 0:
			rs.Warning = fmt.Sprintf("EXPIRED %s ago: clients refuse the repository until it is re-signed (tufup-repo sign %s)", roundDuration(-rs.Left), role)
		case rs.Left < rs.Period/2:
			rs.Warning = fmt.Sprintf("expires in %s, less than half its %s period: re-sign it (tufup-repo sign %s)", roundDuration(rs.Left), roundDuration(rs.Period), role)
		}
		st.Roles = append(st.Roles, rs)
	}
	return st, nil
}

// Warnings returns the roles' warnings.
func (s Status) Warnings() []string {
	var out []string
	for _, rs := range s.Roles {
		if rs.Warning != "" {
			out = append(out, rs.Role+": "+rs.Warning)
		}
	}
	return out
}

// Write prints the status as two tables.
func (s Status) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "releases of %s: %d\n", s.App, len(s.Releases))
	if len(s.Releases) > 0 {
		// A platform column only for repositories of several platforms,
		// so a single-platform repository's status reads as before.
		platforms := slices.ContainsFunc(s.Releases, func(r Release) bool { return r.Platform != (versions.Platform{}) })
		if platforms {
			fmt.Fprint(tw, "PLATFORM\t")
		}
		fmt.Fprintln(tw, "VERSION\tREQUIRED\tROLLOUT\tARCHIVE\tPATCH\tPATCH/FULL")
		for _, rel := range s.Releases {
			if platforms {
				fmt.Fprintf(tw, "%s\t", rel.Platform)
			}
			patch, ratio := "-", "-"
			if rel.Patch != "" {
				patch = FormatSize(rel.PatchSize)
				if rel.ArchiveSize > 0 {
					ratio = fmt.Sprintf("%.1f%%", 100*float64(rel.PatchSize)/float64(rel.ArchiveSize))
				}
			}
			archive := "-"
			if rel.Archive != "" {
				archive = FormatSize(rel.ArchiveSize)
			}
			required := "no"
			if rel.Required {
				required = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%%\t%s\t%s\t%s\n", rel.Version, required, rel.Rollout, archive, patch, ratio)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ROLE\tVERSION\tEXPIRES\tLEFT\tPERIOD\t")
	for _, rs := range s.Roles {
		fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%s\t%s\n", rs.Role, rs.Version, rs.Expires.UTC().Format(time.RFC3339),
			roundDuration(rs.Left), roundDuration(rs.Period), rs.Warning)
	}
	return tw.Flush()
}

// FormatSize shows a byte count in B, KiB, MiB or GiB.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// roundDuration shows a duration in days, hours or minutes.
func roundDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%s%dd", sign, int(math.Round(d.Hours()/24)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%s%dh", sign, int(math.Round(d.Hours())))
	}
	return fmt.Sprintf("%s%dm", sign, int(math.Round(d.Minutes())))
}
