"""The shared linear probe trainer: the ceiling and every probe-regime method train with it."""
