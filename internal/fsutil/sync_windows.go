package fsutil

// Syncing a directory handle is not possible on Windows; treat every error
// from it as "not supported".
func isUnsupported(error) bool { return true }
