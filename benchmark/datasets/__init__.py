"""Dataset sources. Importing this package registers every built-in source."""

from __future__ import annotations

from benchmark.datasets import (  # noqa: F401  (registration)
    eleuther,
    openai_five,
    rotten_tomatoes,
    tweets,
)
from benchmark.datasets.base import DATASETS, DatasetSource, Example, example_id
from benchmark.datasets.hub import HUB_DATASETS, HubDataset

__all__ = ["DATASETS", "HUB_DATASETS", "DatasetSource", "Example", "HubDataset", "example_id"]
