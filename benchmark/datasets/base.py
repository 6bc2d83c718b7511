"""Datasets yield ``Example(id, text, label)`` rows; ids are hashes of the formatted text.

Because ids depend only on the text, weak-label files, feature caches and records all join on
them, whatever order a loader happens to produce.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from benchmark.core.registry import Registry


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: int


def example_id(text: str) -> str:
    """Stable 16-hex-digit id of a formatted text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


PAIR_SEPARATOR = "\x1e"  # between a pair's two responses in its text (ASCII RS)


def pair_text(first: str, second: str) -> str:
    """One example holding two responses (a reward-modelling pair); see ``split_pair``."""
    return f"{first}{PAIR_SEPARATOR}{second}"


def split_pair(text: str) -> tuple[str, str]:
    first, sep, second = text.partition(PAIR_SEPARATOR)
    if not sep:
        raise ValueError(f"not a pair text (no separator): {text[:60]!r}")
    return first, second


_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def make_examples(rows: Iterable[tuple[str, int]]) -> list[Example]:
    """Normalise, drop empties and duplicates; a text seen with two labels is dropped entirely."""
    labels: dict[str, set[int]] = {}
    order: list[str] = []
    for text, label in rows:
        text = normalize_text(text)
        if not text:
            continue
        if text not in labels:
            labels[text] = set()
            order.append(text)
        labels[text].add(label)
    return [Example(example_id(t), t, next(iter(labels[t]))) for t in order if len(labels[t]) == 1]


@dataclass(frozen=True)
class DatasetSource:
    """A registered dataset: which asset holds it and the formatter that reads it."""

    name: str
    asset: str
    label_names: tuple[str, ...]
    description: str
    read: Callable[[Path], list[Example]]


DATASETS: Registry[DatasetSource] = Registry("dataset")
