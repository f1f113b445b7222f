//go:build !windows

package main

import "errors"

func startLikeAShortcut(string, []string) (uint32, error) {
	return 0, errors.New("starting like a Windows shortcut needs Windows (or Wine)")
}
