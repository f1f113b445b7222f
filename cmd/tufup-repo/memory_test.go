package main

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"800M": 800 << 20, "2G": 2 << 30, "2GiB": 2 << 30, "512mb": 512 << 20, "1048576": 1 << 20, " 3K ": 3 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "0", "1.5G", "lots", "9999999999T"} {
		if got, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestDefaultMaxMemory(t *testing.T) {
	m := defaultMaxMemory()
	if m < 512<<20 || m > 2<<30 {
		t.Fatalf("default cap %d outside 512 MiB..2 GiB", m)
	}
	if total := machineMemory(); total > 0 && m > max(total/4, 512<<20) {
		t.Fatalf("default cap %d is more than a quarter of the machine's %d", m, total)
	}
}
