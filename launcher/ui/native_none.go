package ui

// none is a desktop with no way to show windows (no display).
type none struct{}

func (none) open(view) (window, error)  { return nil, errNoWindow }
func (none) fail(Failure) (bool, error) { return false, errNoWindow }
