package main

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// setAppUserModelID gives this process an explicit AppUserModelID. Call it
// first thing, before the app shows any window: Windows reads it when the
// first window appears.
func setAppUserModelID(id string) error {
	proc := windows.NewLazySystemDLL("shell32.dll").NewProc("SetCurrentProcessExplicitAppUserModelID")
	if err := proc.Find(); err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(id)
	if err != nil {
		return err
	}
	// The function returns an HRESULT: 0 (S_OK) on success.
	if hr, _, _ := proc.Call(uintptr(unsafe.Pointer(p))); hr != 0 {
		return fmt.Errorf("SetCurrentProcessExplicitAppUserModelID: HRESULT %#x", hr)
	}
	return nil
}
