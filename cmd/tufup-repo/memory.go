package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMaxMemory is add's memory cap when --max-memory is not given: a
// quarter of the machine's memory, at least 512 MiB and at most 2 GiB (the
// patch engine needs no more than that, whatever the release's size).
func defaultMaxMemory() int64 {
	const lo, hi = 512 << 20, 2 << 30
	total := machineMemory()
	if total <= 0 {
		return 1 << 30
	}
	return min(max(total/4, lo), hi)
}

// machineMemory is the machine's physical memory in bytes, or 0 when it
// cannot be told (it is read from /proc/meminfo, so on Linux only).
func machineMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// parseSize reads a byte count such as 1536M, 2G, 2GiB or 800MB (powers of
// 1024 in every case).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	shift := 0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift > 0 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || v <= 0 || v > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size (examples: 800M, 2G)", s)
	}
	return v << shift, nil
}

// capMemory makes the Go runtime collect garbage harder as the process
// nears limit, so the heap's headroom stays inside it.
func capMemory(limit int64) { debug.SetMemoryLimit(limit) }
