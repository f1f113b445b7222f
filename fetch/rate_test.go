package fetch

import (
	"testing"
	"time"
)

// The download rate logged with every target, in MiB/s to two decimals.
func TestRate(t *testing.T) {
	for _, c := range []struct {
		n    int64
		d    time.Duration
		want float64
	}{
		{1 << 20, time.Second, 1},
		{3 << 20, 2 * time.Second, 1.5},
		{1 << 20, 3 * time.Second, 0.33},
		{5 << 20, 0, 0},
		{5 << 20, -time.Second, 0},
	} {
		if got := rate(c.n, c.d); got != c.want {
			t.Errorf("rate(%d, %s) = %v, want %v", c.n, c.d, got, c.want)
		}
	}
}
