package bsdiff

import (
	"context"
	"os"
	"testing"
	"time"
	"runtime/pprof"
)

func TestTmpPair(t *testing.T) {
	o, n := os.Getenv("OLDF"), os.Getenv("NEWF")
	if o == "" { t.Skip() }
	f, _ := os.Create("/tmp/tc/ours.patch")
	defer f.Close()
	if p := os.Getenv("PROF"); p != "" {
		pf, _ := os.Create(p)
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	if err := Diff(context.Background(), o, n, f); err != nil { t.Fatal(err) }
	t.Logf("diff took %v", time.Since(t0))
}
