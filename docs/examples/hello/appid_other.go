//go:build !windows

package main

// setAppUserModelID does nothing: AppUserModelIDs exist on Windows only.
func setAppUserModelID(string) error { return nil }
