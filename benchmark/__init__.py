"""W2S-Bench: fixed tasks, frozen weak labels, isolated method runs, and a static leaderboard."""

from __future__ import annotations

__version__ = "0.1.0"
