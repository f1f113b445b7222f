package launcher

import (
	"runtime"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/fetch"
)

// A repository of several platforms lists the app under its platforms'
// names: that is the app, unless none of them is this launcher's.
func TestCheckAppListedPlatforms(t *testing.T) {
	for _, name := range []string{
		"app-" + runtime.GOOS + "-" + runtime.GOARCH + "-1.0.tar.gz",
		"app-" + runtime.GOOS + "-1.0.tar.gz",
		"app-1.0.tar.gz",
	} {
		if err := checkAppListed("app", "https://u/", []fetch.TargetInfo{{Name: name}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := checkAppListed("app", "https://u/", []fetch.TargetInfo{{Name: "app-plan9-386-1.0.tar.gz"}, {Name: "other-1.0.tar.gz"}})
	if err == nil || !strings.Contains(err.Error(), `only for plan9/386, none for `+runtime.GOOS+"/"+runtime.GOARCH) || !strings.Contains(err.Error(), "--os "+runtime.GOOS) {
		t.Errorf("another platform's releases only: %v", err)
	}
}
