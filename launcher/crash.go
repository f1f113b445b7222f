//go:build !crashtest

package launcher

// crashPoint marks a step of an update where the crash tests kill the
// launcher. It does nothing outside builds tagged crashtest.
func crashPoint(string) {}
