//go:build unix

package layout

import (
	"errors"
	"slices"
	"testing"
)

func TestRemoveSkipsVersionInUse(t *testing.T) {
	d := New(t.TempDir())
	install(t, d, "1.0.0")
	release, installed, err := d.HoldInUse("1.0.0")
	if err != nil || !installed {
		t.Fatalf("HoldInUse: installed=%v err=%v", installed, err)
	}
	if err := d.Remove("1.0.0"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a version in use: %v, want ErrInUse", err)
	}
	if got, _ := d.Installed(); !slices.Equal(got, []string{"1.0.0"}) {
		t.Fatalf("version in use was touched: %v", got)
	}
	release()
	if err := d.Remove("1.0.0"); err != nil {
		t.Fatalf("Remove after release: %v", err)
	}
	if _, installed, _ := d.HoldInUse("1.0.0"); installed {
		t.Fatal("HoldInUse reports a removed version as installed")
	}
}
