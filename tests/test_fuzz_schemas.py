"""Fuzzed schema loaders: any input is accepted or refused with the project's own error.

Random documents, valid documents with one field mutated (dropped, retyped, an extra key,
huge numbers, unicode), and raw bytes, written to disk and read by the real loaders: task
YAML, submission.yaml, run records and weak-label locks. A bare traceback fails the test.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.core.errors import W2SBenchError

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                         max_leaves=25)


def mutated(valid: dict) -> st.SearchStrategy[dict]:
    """``valid`` with one top-level or nested key dropped, replaced or added."""

    @st.composite
    def build(draw):
        doc = json.loads(json.dumps(valid))
        target = doc
        nested = [k for k, v in doc.items() if isinstance(v, dict) and v]
        if nested and draw(st.booleans()):
            target = doc[draw(st.sampled_from(nested))]
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        key = draw(st.sampled_from(sorted(target)))
        if action == "drop":
            del target[key]
        elif action == "replace":
            target[key] = draw(documents)
        else:
            target[draw(st.text(min_size=1, max_size=12))] = draw(documents)
        return doc

    return build()


def check(load, text: bytes) -> None:
    try:
        load(text)
    except W2SBenchError as exc:
        assert str(exc).strip(), "an empty error message"


def via_file(relative: str, read: Callable[[Path], None]) -> Callable[[bytes], None]:
    """A loader of bytes: write them to ``relative`` in a fresh folder, then ``read(path)``."""

    def load(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            read(path)

    return load


def as_yaml(doc) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")


# --- task YAML ---------------------------------------------------------------------------
def _valid_task() -> dict:
    from benchmark.core.paths import tasks_dir

    return yaml.safe_load((tasks_dir() / "rt-tfidf-logreg-to-minilm-l6.yaml").read_text())


def _parse_task(path: Path) -> None:
    from benchmark.tasks.spec import parse_task

    parse_task(path)


load_task = via_file("rt-tfidf-logreg-to-minilm-l6.yaml", _parse_task)


@SETTINGS
@given(st.one_of(mutated(_valid_task()), documents))
def test_task_yaml_fuzz(doc) -> None:
    check(load_task, as_yaml(doc))


# --- submission.yaml ---------------------------------------------------------------------
VALID_SUBMISSION = {"name": "fuzz", "version": "1", "authors": ["A"], "description": "d",
                    "paper": None, "code": "https://example.org/x", "licence": "MIT",
                    "hyperparameters": {"alpha": 0.5},
                    "uses": {"transductive": True, "extra_data": ["x"], "extra_models": [],
                             "gold_for_tuning": {"split": "A", "n": 5, "chose": "alpha"},
                             "compute": "one probe training"}}


def _load_meta(path: Path) -> None:
    from benchmark.methods.submissions import load_submission_meta

    load_submission_meta(path.parent)


load_submission = via_file("fuzz/submission.yaml", _load_meta)


@SETTINGS
@given(st.one_of(mutated(VALID_SUBMISSION), documents))
def test_submission_yaml_fuzz(doc) -> None:
    check(load_submission, as_yaml(doc))


# --- run records -------------------------------------------------------------------------
def _valid_record() -> dict:
    return {"schema_version": 1, "suite": "s", "task": "t", "method": "m", "replicate": 0,
            "seed": 0, "status": "ok", "error": None,
            "metrics": {"accuracy": 0.7, "auroc": 0.8, "pgr": 0.3, "pgr_note": "",
                        "weak_accuracy": 0.6, "ceiling_accuracy": 0.9},
            "compute": {"train_flops": 1.0, "infer_flops": 1.0, "examples_seen": 1,
                        "trained_params": 1, "strong_model_params": None, "wall_s": 1.0,
                        "cpu_s": 1.0, "peak_rss_mb": 1.0},
            "provenance": {"task_version": 1, "task_sha256": "a", "weak_labels_sha256": "b",
                           "references_sha256": "c", "weak_model": "w", "strong_model": "s",
                           "method_version": "1", "method_config": {}, "method_origin": "o",
                           "packages": {}, "git_commit": "g", "hardware": {}}}


def _read_record(path: Path) -> None:
    from benchmark.results.records import read_record

    read_record(path)


load_record = via_file("replicate-0.json", _read_record)


@SETTINGS
@given(st.one_of(mutated(_valid_record()), documents))
def test_run_record_fuzz(doc) -> None:
    check(load_record, json.dumps(doc).encode())


# --- weak-label locks ----------------------------------------------------------------------
def _read_lock(path: Path) -> None:
    from benchmark.labels.frozen import _cached_lock

    _cached_lock(path, path.stat().st_mtime_ns)


load_lock_file = via_file("lock.json", _read_lock)


def _valid_lock() -> dict:
    from benchmark.core.paths import frozen_dir

    return json.loads((frozen_dir() / "rt-tfidf-logreg-to-minilm-l6" / "lock.json").read_text())


@SETTINGS
@given(st.one_of(mutated(_valid_lock()), documents))
def test_weak_label_lock_fuzz(doc) -> None:
    check(load_lock_file, json.dumps(doc).encode())


@SETTINGS
@given(st.binary(max_size=300))
def test_raw_bytes_fuzz(data: bytes) -> None:
    for load in (load_task, load_submission, load_record, load_lock_file):
        check(load, data)
