package patch

func syncAll() {}
