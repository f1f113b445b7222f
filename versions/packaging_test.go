package versions

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
	"github.com/tufup-go/tufup/internal/testenv"
)

// packagingScript answers, for Python's packaging.version (what tufup uses)
// and tufup's target-name regex, how each input parses and orders.
const packagingScript = `
import json, re, sys
try:
    from packaging.version import Version, InvalidVersion
except ImportError:
    try:
        from pip._vendor.packaging.version import Version, InvalidVersion
    except ImportError:
        sys.exit(3)
req = json.load(sys.stdin)
parsed = []
for s in req["versions"]:
    try:
        parsed.append(Version(s))
    except InvalidVersion:
        parsed.append(None)
rank = {v: i for i, v in enumerate(sorted(set(v for v in parsed if v is not None)))}
name_re = re.compile(r'^(?P<name>[\w-]+)-(?P<version>.+)(?P<suffix>\.tar\.gz|\.patch)$')
out = {
    "versions": [None if v is None else {"rank": rank[v], "canonical": str(v), "pre": v.pre[0] if v.pre else ""} for v in parsed],
    "targets": [m and m.groupdict() for m in (name_re.search(n) for n in req["targets"])],
}
json.dump(out, sys.stdout)
`

type packagingVersion struct {
	Rank      int
	Canonical string
	Pre       string
}

type packagingTarget struct{ Name, Version, Suffix string }

// askPackaging runs packagingScript, skipping the test (failing it under
// TUFUP_TEST_STRICT) when Python or its packaging module is missing.
func askPackaging(t *testing.T, versions, targets []string) ([]*packagingVersion, []*packagingTarget) {
	t.Helper()
	python := testenv.LookPath(t, "python3", "python3")
	in, err := json.Marshal(map[string][]string{"versions": versions, "targets": targets})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", packagingScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outJSON, err := cmd.Output()
	if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) && exitErr.ExitCode() == 3 {
		testenv.Missing(t, "Python's packaging module", "apt-get install python3-packaging")
	}
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	var out struct {
		Versions []*packagingVersion
		Targets  []*packagingTarget
	}
	if err := json.Unmarshal(outJSON, &out); err != nil {
		t.Fatalf("python3 output: %v", err)
	}
	if len(out.Versions) != len(versions) || len(out.Targets) != len(targets) {
		t.Fatalf("python3 answered %d versions and %d targets, asked %d and %d", len(out.Versions), len(out.Targets), len(versions), len(targets))
	}
	return out.Versions, out.Targets
}

// TestMatchesPythonPackaging checks parsing, normal forms, pre-release kinds
// and the whole ordering against Python's packaging on thousands of spellings,
// and target-name parsing against tufup's regex run by Python's re.
func TestMatchesPythonPackaging(t *testing.T) {
	inputs := corpus(4000, 7)
	inputs = append(inputs,
		"1.0a-1", "1.0.0-a1-1", "1.0-r", "1.0rc", "1.0.post.dev", "1.0-1-1", "1.0-1.dev1",
		"1.0_post-1", "1.0r1.dev", "1.0.0-dev", "1.0.0-dev.1", "1.0.0-post.1", "1.0.0-0",
		"1.0.0-01", "1.0pre-preview", "1.0--1", "1.0-_1", "1.0a1_", "1.0.", "\x1c1.0\x1f",
		"\u20281.0\u3000", "1.0\u0085", "1.0\u180e", "١.0", "1.0ſ", "1!1!1", "1!", "!1",
		"1.0A1.POST2.DEV3", "v", "V1.0", "vv1", "1.0.0-alpha.beta", "1.0.0-x.7.z.92",
	)
	for _, c := range orderingChains {
		inputs = append(inputs, c.chain...)
	}
	for _, g := range equalGroups {
		for _, c := range g {
			inputs = append(inputs, c.in)
		}
	}
	// Python's packaging orders local versions ("+abc"), which are not
	// public versions; only SemVer build metadata is accepted here.
	inputs = slices.DeleteFunc(inputs, func(s string) bool { return strings.Contains(s, "+") })

	var targets []string
	for _, app := range []string{"app", "my-app", "my_app", "app-1", "приложение", "e\u0301", "a.b", "", "-", "app ", "x٣"} {
		for _, v := range append(inputs[:60:60], "1.0+local", "1.0.0+build", "", "1.0\n", "1.0.tar.gz") {
			for _, suffix := range []string{".tar.gz", ".patch", ".zip", ".tar", "", ".tar.gz\n"} {
				targets = append(targets, app+"-"+v+suffix)
			}
		}
	}
	py, pyTargets := askPackaging(t, inputs, targets)

	type ranked struct {
		v    Version
		rank int
	}
	var accepted []ranked
	for i, s := range inputs {
		v, err := Parse(s)
		want := py[i]
		switch {
		case want == nil && err == nil:
			body := strings.TrimFunc(s, isPythonSpace)
			if _, serr := semver.Parse(strings.TrimLeft(body, "vV")); serr != nil {
				t.Errorf("Parse(%q) = %q, but packaging rejects it and it is not SemVer", s, v.Canonical())
			}
		case want == nil:
		case err != nil:
			t.Errorf("Parse(%q): %v; packaging accepts it as %q", s, err, want.Canonical)
		default:
			if v.Canonical() != want.Canonical || v.PreKind() != want.Pre {
				t.Errorf("Parse(%q) = %q with PreKind %q, packaging says %q with pre %q", s, v.Canonical(), v.PreKind(), want.Canonical, want.Pre)
			}
			accepted = append(accepted, ranked{v, want.Rank})
		}
	}
	if len(accepted) < 3000 {
		t.Fatalf("only %d versions to order", len(accepted))
	}
	// Same order as packaging: compare every version with every other by rank.
	for _, a := range accepted {
		for _, b := range accepted {
			if got, want := a.v.Compare(b.v), cmpInt(a.rank, b.rank); got != want {
				t.Fatalf("Compare(%q, %q) = %d, packaging says %d", a.v, b.v, got, want)
			}
		}
	}

	for i, name := range targets {
		got, err := ParseTarget(name)
		want := pyTargets[i]
		switch {
		case want == nil:
			if !errors.Is(err, ErrNotTarget) {
				t.Errorf("ParseTarget(%q) = %+v, %v; tufup does not match it", name, got, err)
			}
		case err == nil:
			if got.App != want.Name || got.Version.String() != want.Version || got.Kind.suffix() != want.Suffix {
				t.Errorf("ParseTarget(%q) = %q %q %v; tufup says %+v", name, got.App, got.Version, got.Kind, *want)
			}
		case errors.Is(err, ErrNotTarget):
			// Python's "$" also matches before a final newline; we do not.
			if !strings.HasSuffix(name, "\n") {
				t.Errorf("ParseTarget(%q): %v; tufup says %+v", name, err, *want)
			}
		default:
			if _, perr := Parse(want.Version); perr == nil {
				t.Errorf("ParseTarget(%q): %v; tufup says %+v", name, err, *want)
			}
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
