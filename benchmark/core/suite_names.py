"""How a held-out suite is named after its public one (:mod:`benchmark.library.heldout`), so
the board can show the two side by side from records alone."""

from __future__ import annotations

HELDOUT_SUFFIX = "-heldout"
# the file that marks a held-out world's root: there, its own board may show its records
WORLD_MARKER = "HELDOUT-WORLD.txt"


def heldout_of(suite: str) -> str:
    return suite + HELDOUT_SUFFIX


def is_heldout(suite: str) -> bool:
    return suite.endswith(HELDOUT_SUFFIX)
