//go:build unix

package patch

import "syscall"

func syncAll() { syscall.Sync() }
