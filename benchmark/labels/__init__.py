"""Weak labels: the weak supervisors, freeze (weak labels + references per replicate), the frozen-
file format and its sha256 locks, hub push/pull. Gold labels train things here.
"""
