package versions

import (
	"errors"
	"testing"
)

func TestDirectPatchName(t *testing.T) {
	for _, c := range [][3]string{{"app", "1.0.0", "1.3.0"}, {"my-app-linux-amd64", "2.0.0a1", "2.0.0"}, {"app", "1!1.0", "1!2.0.post1"}} {
		from, to := mustParse(t, c[1]), mustParse(t, c[2])
		name := DirectPatchName(c[0], from, to)
		app, gf, gt, ok, err := ParseDirectPatch(name)
		if err != nil || !ok || app != c[0] || gf.Compare(from) != 0 || gt.Compare(to) != 0 {
			t.Errorf("%s parses to %q %v %v %v %v", name, app, gf, gt, ok, err)
		}
		// Python tufup's pattern must not take it for an archive or patch.
		if _, err := ParseTarget(name); !errors.Is(err, ErrNotTarget) {
			t.Errorf("ParseTarget(%s) = %v, want ErrNotTarget (tufup would read it)", name, err)
		}
	}
	for _, name := range []string{"app-1.0.0.patch", "app-1.0.0.tar.gz", "app-1.0.from-.bsdiff"} {
		if _, _, _, ok, _ := ParseDirectPatch(name); ok {
			t.Errorf("ParseDirectPatch(%s) ok", name)
		}
	}
	for _, name := range []string{"app-2.0.from-3.0.bsdiff", "app-x.y.from-1.0.bsdiff"} {
		if _, _, _, ok, err := ParseDirectPatch(name); ok || err == nil {
			t.Errorf("ParseDirectPatch(%s) = %v, %v; want an error", name, ok, err)
		}
	}
}
