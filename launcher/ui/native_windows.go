package ui

func native() backend { return none{} }
