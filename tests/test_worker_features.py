"""A pool worker fills in a probe run's features from its in-memory copy of the hidden state
before forking the run: the arrays are the ones the run's own read of the cache gives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmark.run import worker
from benchmark.run.inputs import TaskContexts, build_input


def test_worker_features_are_the_cache_reads_and_the_hidden_state_is_kept(tiny_world, tiny_task,
                                                                          tmp_path):
    inp, _ = build_input(TaskContexts().get(tiny_task), 0, tmp_path)
    assert inp.train_features is None  # the harness ships inputs without arrays
    own_read = inp.with_cached_features()
    worker._hidden.clear()
    found = worker.worker_hidden(inp)
    assert found is not None
    filled = inp.with_cached_features(found[1])  # what the session's fork starts from
    for name in ("train_features", "test_features"):
        ours, theirs = getattr(filled, name), getattr(own_read, name)
        assert ours.dtype == theirs.dtype == np.float32 and np.array_equal(ours, theirs)
    assert len(worker._hidden) == 1
    kept = next(iter(worker._hidden.values()))
    worker.worker_hidden(build_input(TaskContexts().get(tiny_task), 1, tmp_path)[0])
    assert len(worker._hidden) == 1 and next(iter(worker._hidden.values())) is kept
    assert filled.with_cached_features() is filled  # the fork reads nothing more


def test_an_unreadable_cache_is_left_for_the_run_to_report(tiny_world, tiny_task, tmp_path):
    inp, _ = build_input(TaskContexts().get(tiny_task), 0, tmp_path)
    missing = replace(inp, feature_file=str(tmp_path / "gone.npy"))
    assert worker.worker_hidden(missing) is None  # the fork's own read reports it
