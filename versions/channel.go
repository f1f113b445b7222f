package versions

import "fmt"

// Channel is an update channel: which releases a client may be offered.
// Final releases (including dev and post releases of finals) are on every
// channel; each channel adds the pre-release kinds of the ones before it.
type Channel string

// The channels, from the most to the least conservative.
const (
	Stable Channel = "stable" // final releases only (tufup pre "")
	RC     Channel = "rc"     // adds release candidates (tufup pre "rc")
	Beta   Channel = "beta"   // adds betas and release candidates (tufup pre "b")
	Alpha  Channel = "alpha"  // adds alphas, betas and release candidates (tufup pre "a")
)

// ParseChannel accepts a channel name ("stable", "rc", "beta", "alpha") or the
// equivalent value of tufup's pre setting ("", "rc", "b", "a").
func ParseChannel(s string) (Channel, error) {
	switch s {
	case "stable", "":
		return Stable, nil
	case "rc":
		return RC, nil
	case "beta", "b":
		return Beta, nil
	case "alpha", "a":
		return Alpha, nil
	}
	return "", fmt.Errorf("unknown channel %q: valid channels are stable, rc, beta and alpha (or tufup's \"\", rc, b and a)", s)
}

// Includes reports whether the channel offers v. A Channel that ParseChannel
// would not return offers final releases only.
func (c Channel) Includes(v Version) bool {
	return kindRank(v.PreKind()) <= c.rank()
}

// rank orders channels by how many pre-release kinds they accept; tufup's
// spellings are honoured so a Channel built by conversion works too.
func (c Channel) rank() int {
	switch c {
	case RC:
		return kindRank("rc")
	case Beta, "b":
		return kindRank("b")
	case Alpha, "a":
		return kindRank("a")
	}
	return kindRank("")
}

func kindRank(preKind string) int {
	switch preKind {
	case "rc":
		return 1
	case "b":
		return 2
	case "a":
		return 3
	}
	return 0
}
