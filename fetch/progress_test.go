package fetch_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/fetch"
)

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	bar := fetch.ProgressBar(&out)
	for _, p := range []fetch.Progress{
		{Target: "app-1.0.0.patch", Done: 0, Total: 1 << 20},
		{Target: "app-1.0.0.patch", Done: 1 << 20, Total: 1 << 20},
		{Target: "app-2.0.0.tar.gz", Done: 0, Total: 3 << 20},
		{Target: "app-2.0.0.tar.gz", Done: 3 << 20, Total: 3 << 20},
	} {
		bar(p)
	}
	s := out.String()
	for _, want := range []string{"app-1.0.0.patch", "app-2.0.0.tar.gz", "100%", "1.0 MB", "3.1 MB"} {
		if !strings.Contains(s, want) {
			t.Errorf("progress output lacks %q:\n%q", want, s)
		}
	}
}
