// Command wine-test is the Windows side of the Wine tests
// (e2e/windows_wine_test.go): it starts a program the way a desktop
// shortcut does, with no standard handles and no console, waits for it and
// exits with its exit code. So the tests see the launcher's exit code as a
// Windows parent sees it (CreateProcess, wait, GetExitCodeProcess), and the
// launcher run without the handles a terminal would give it.
//
// Usage (Windows or Wine): wine-test.exe PROGRAM [ARG...]
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wine-test PROGRAM [ARG...]")
		os.Exit(2)
	}
	code, err := startLikeAShortcut(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "wine-test:", err)
		os.Exit(125)
	}
	os.Exit(int(code))
}
