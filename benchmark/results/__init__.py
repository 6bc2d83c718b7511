"""Run records: the schema the harness writes and the leaderboard reads, reading and
collecting them."""
