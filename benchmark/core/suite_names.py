"""How a held-out suite is named after its public one (:mod:`benchmark.library.heldout`), so
the board can show the two side by side from records alone."""

from __future__ import annotations

from benchmark.core.paths import repo_root

HELDOUT_SUFFIX = "-heldout"
# the file that marks a held-out world's root: there, its own board may show its records
WORLD_MARKER = "HELDOUT-WORLD.txt"


def heldout_of(suite: str) -> str:
    return suite + HELDOUT_SUFFIX


def is_heldout(suite: str) -> bool:
    return suite.endswith(HELDOUT_SUFFIX)


def in_heldout_world() -> bool:
    """The harness works in a held-out world (its private board may show held-out suites)."""
    return (repo_root() / WORLD_MARKER).is_file()
