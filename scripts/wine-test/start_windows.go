package main

import (
	"fmt"
	"os"
	"syscall"
)

func startLikeAShortcut(program string, args []string) (uint32, error) {
	// Zero handles: the child's GetStdHandle returns NULL, as for a GUI
	// program started from Explorer.
	attr := &syscall.ProcAttr{Files: []uintptr{0, 0, 0}, Env: os.Environ()}
	_, h, err := syscall.StartProcess(program, append([]string{program}, args...), attr)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", program, err)
	}
	defer syscall.CloseHandle(syscall.Handle(h))
	if _, err := syscall.WaitForSingleObject(syscall.Handle(h), syscall.INFINITE); err != nil {
		return 0, fmt.Errorf("wait for %s: %w", program, err)
	}
	var code uint32
	if err := syscall.GetExitCodeProcess(syscall.Handle(h), &code); err != nil {
		return 0, fmt.Errorf("exit code of %s: %w", program, err)
	}
	return code, nil
}
