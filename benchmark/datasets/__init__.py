"""Dataset sources. Importing this package registers every built-in source."""

from __future__ import annotations

from benchmark.datasets import rotten_tomatoes, tweets  # noqa: F401  (registration)
from benchmark.datasets.base import DATASETS, DatasetSource, Example, example_id

__all__ = ["DATASETS", "DatasetSource", "Example", "example_id"]
