"""Builds the top-level ``leaderboard/`` from run records (a pure function of them)."""
