package versions

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseChannel(t *testing.T) {
	for in, want := range map[string]Channel{
		"stable": Stable, "rc": RC, "beta": Beta, "alpha": Alpha,
		"": Stable, "b": Beta, "a": Alpha, // tufup's pre values
	} {
		got, err := ParseChannel(in)
		if err != nil || got != want {
			t.Errorf("ParseChannel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Stable", "release", "pre", "dev", " beta", "c"} {
		_, err := ParseChannel(in)
		if err == nil {
			t.Errorf("ParseChannel(%q) succeeded, want an error", in)
			continue
		}
		for _, part := range []string{strconv.Quote(in), "stable", "rc", "beta", "alpha"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("ParseChannel(%q) error %q does not mention %s", in, err, part)
			}
		}
	}
}

func TestChannelIncludes(t *testing.T) {
	// Which channels offer each version, in the order stable, rc, beta, alpha.
	for s, want := range map[string][4]bool{
		"1.0":            {true, true, true, true},
		"1.0.dev1":       {true, true, true, true},
		"1.0.post1.dev1": {true, true, true, true},
		"1.0.0+build":    {true, true, true, true},
		"1.0rc1":         {false, true, true, true},
		"1.0.0-rc.1":     {false, true, true, true},
		"1.0c1.post1":    {false, true, true, true},
		"1.0b1":          {false, false, true, true},
		"1.0.0-beta":     {false, false, true, true},
		"1.0a1":          {false, false, false, true},
		"1.0a1.dev1":     {false, false, false, true},
		"1.0.0-alpha.1":  {false, false, false, true},
		"1.0.0-x.7.z.92": {false, false, false, true},
	} {
		v := mustParse(t, s)
		for i, c := range []Channel{Stable, RC, Beta, Alpha} {
			if got := c.Includes(v); got != want[i] {
				t.Errorf("%s.Includes(%q) = %v, want %v", c, s, got, want[i])
			}
		}
	}
}

func TestChannelConvertedFromTufupValue(t *testing.T) {
	b := mustParse(t, "2.0b1")
	if !Channel("b").Includes(b) || Channel("rc").Includes(b) || Channel("").Includes(b) || Channel("bogus").Includes(b) {
		t.Errorf("channels converted from tufup's pre values disagree with ParseChannel's")
	}
}
