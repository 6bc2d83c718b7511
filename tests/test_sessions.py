"""A reference baseline's runs share one process of their worker (its session); a
submission's runs never share one, and no two methods ever do.

Each test runs real methods through the harness on the local executor (a baseline is a file
added to the test world's ``baselines/`` for the test): a baseline's runs come back from one
process, each with the bits a fresh process gives; a submission gets a fresh process per run;
the next method starts from a clean fork; a session that writes besides its report is ended
and no run is scored on another run's report.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from benchmark.results.records import iter_records, load_predictions, read_record
from benchmark.run.harness import Harness, RunSpec
from benchmark.run.sweep import DECODED_KEPT, session_order
from tests.conftest import TINY_SUITE, TINY_TASK

HEADER = '''
import os
import random
import numpy as np
from benchmark.api import Method, register
'''

WHO = HEADER + '''
@register("{name}")
class Who(Method):
    """Fails on purpose, saying which process ran it (tests)."""

    def fit_predict(self, inp):
        raise RuntimeError(f"pid={{os.getpid()}}")
'''

UNSEEDED = HEADER + '''
CALLS = []

@register("unseeded")
class Unseeded(Method):
    """Reads numpy's and Python's global generators without seeding them (tests)."""

    def fit_predict(self, inp):
        CALLS.append(1)  # module state: it does persist within the session
        noise = np.random.random((len(inp.test_ids), 1)) * random.random()
        p1 = np.clip(0.5 + noise[:, 0] - 0.25, 0, 1)
        print(f"calls={len(CALLS)}")
        return np.stack([1 - p1, p1], axis=1)
'''

BIG_THEN_SMALL = HEADER + '''
@register("big-then-small")
class BigThenSmall(Method):
    """Touches 400 MB on replicate 0 only (tests)."""

    def fit_predict(self, inp):
        if inp.replicate == 0:
            block = np.ones(50_000_000)
            block.sum()
        return np.full((len(inp.test_ids), 2), 0.5)
'''

JAMMER = HEADER + '''
import stat

@register("jammer")
class Jammer(Method):
    """Writes junk into every pipe it can write to, then reports (tests)."""

    def fit_predict(self, inp):
        for fd in range(3, 64):
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    os.write(fd, b"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10" + b"junk" * 4)
            except OSError:
                pass
        return np.full((len(inp.test_ids), 2), 0.5)
'''


def _runs(methods: list[str], replicates: int = 2) -> list[RunSpec]:
    return [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(replicates)]


@contextmanager
def baseline(world, module: str, source: str):
    """``source`` as a reference baseline of the test world for the duration."""
    from benchmark.methods.catalog import METHODS

    path = world.root / "baselines" / f"{module}.py"
    path.write_text(source)
    METHODS.reset()
    try:
        yield
    finally:
        path.unlink()
        METHODS.reset()


def test_a_baselines_runs_share_a_session_and_a_submissions_never_do(tiny_world, tiny_task,
                                                                    tmp_path) -> None:
    for name in ("who-a", "who-b"):
        tiny_world.add_submission(name, WHO.format(name=name))
    with baseline(tiny_world, "zz_who_base", WHO.format(name="who-base")):
        Harness(tmp_path, workers=1, progress=False).run(
            _runs(["who-base", "who-a", "who-b"]), {TINY_TASK: tiny_task})
    pids = {(r.method, r.replicate): r.error.message for r in iter_records(tmp_path)}
    assert pids["who-base", 0] == pids["who-base", 1]  # one worker, one session
    assert pids["who-a", 0] != pids["who-a", 1]  # a submission: a fresh process per run
    assert len(set(pids.values())) == 5  # no process ran two methods


def test_a_run_in_a_session_gives_the_bits_a_fresh_process_gives(tiny_world, tiny_task,
                                                                 tmp_path) -> None:
    """Replicate 1 after replicate 0 in one session, and alone in a fresh worker: the same
    bits, although the method draws from the global generators without seeding them."""
    together, alone = tmp_path / "together", tmp_path / "alone"
    with baseline(tiny_world, "zz_unseeded", UNSEEDED):
        Harness(together, workers=1, progress=False).run(_runs(["unseeded"]),
                                                         {TINY_TASK: tiny_task})
        Harness(alone, workers=1, progress=False).run(
            [RunSpec(TINY_SUITE, TINY_TASK, "unseeded", 1)], {TINY_TASK: tiny_task})
    path = RunSpec(TINY_SUITE, TINY_TASK, "unseeded", 1).path
    second, single = read_record(path(together)), read_record(path(alone))
    assert second.status == single.status == "ok"
    assert np.array_equal(load_predictions(path(together), second),
                          load_predictions(path(alone), single))
    assert second.metrics == single.metrics


def test_each_run_reports_its_own_peak_memory(tiny_world, tiny_task, tmp_path) -> None:
    with baseline(tiny_world, "zz_big_then_small", BIG_THEN_SMALL):
        Harness(tmp_path, workers=1, progress=False).run(_runs(["big-then-small"]),
                                                         {TINY_TASK: tiny_task})
    peak = {r.replicate: r.compute.peak_rss_mb for r in iter_records(tmp_path)}
    assert peak[0] > peak[1] + 300, peak  # the second run is not charged the first's 400 MB


def test_a_session_writing_more_than_its_report_fails_and_the_next_method_is_clean(
        tiny_world, tiny_task, tmp_path) -> None:
    clean = tmp_path / "clean"
    Harness(clean, workers=1, progress=False).run(_runs(["naive"]), {TINY_TASK: tiny_task})
    with baseline(tiny_world, "zz_jammer", JAMMER):
        Harness(tmp_path / "jammed", workers=1, progress=False).run(
            _runs(["jammer", "naive"]), {TINY_TASK: tiny_task})
    records = {(r.method, r.replicate): r for r in iter_records(tmp_path / "jammed")}
    for k in range(2):
        assert records["jammer", k].status == "failed"
        assert records["jammer", k].error.type in {"InvalidReport", "WorkerDied"}, \
            records["jammer", k].error
        honest = read_record(RunSpec(TINY_SUITE, TINY_TASK, "naive", k).path(clean))
        assert records["naive", k].status == "ok"
        assert records["naive", k].metrics == honest.metrics


FORGER = HEADER + '''
import stat
import struct

RUNS = []

@register("forger")
class Forger(Method):
    """Writes a report of its own, numbered as the session numbers them, into every pipe,
    then returns another (tests)."""

    def fit_predict(self, inp):
        RUNS.append(1)
        for fd in range(3, 64):
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    os.write(fd, struct.pack(">QQ", len(RUNS) - 1, len(FRAME)) + FRAME)
            except OSError:
                pass
        p1 = 0.1 + 0.1 * inp.replicate
        return np.tile([1 - p1, p1], (len(inp.test_ids), 1))
'''


def test_a_forged_second_report_never_becomes_another_runs_report(tiny_world, tiny_task,
                                                                   tmp_path) -> None:
    """Whichever of its two reports the worker reads first, a run is scored on its own
    output or on the one it forged, and the session ends before the next run can read the
    other: no run is scored on a report another run sent."""
    from benchmark.run.report import RunOutput, encode

    frame = encode(RunOutput(probs=np.tile([0.1, 0.9], (tiny_task.splits.test, 1))))
    with baseline(tiny_world, "zz_forger", FORGER.replace("FRAME", repr(frame))):
        Harness(tmp_path, workers=1, progress=False).run(_runs(["forger", "naive"]),
                                                         {TINY_TASK: tiny_task})
    for record in iter_records(tmp_path):
        if record.method == "naive":
            assert record.status == "ok"
            continue
        if record.status == "failed":
            assert record.error.type == "InvalidReport", record.error
            continue
        path = RunSpec(TINY_SUITE, TINY_TASK, "forger", record.replicate).path(tmp_path)
        p1 = set(np.round(load_predictions(path, record)[:, 1].astype(float), 2))
        assert p1 in ({0.9}, {round(0.1 + 0.1 * record.replicate, 2)}), (record.replicate, p1)


class _Spec:
    def __init__(self, dataset: str, strong: str = "s", regime: str = "probe") -> None:
        self.dataset = type("D", (), {"name": dataset})()
        self.strong_model, self.regime = strong, regime


def test_session_order_keeps_a_methods_runs_together_within_bounded_chunks() -> None:
    tasks = {"r1": _Spec("rt"), "r2": _Spec("rt"), "t1": _Spec("tw"), "big": _Spec("tw")}
    counts = {"r1": 3, "r2": 3, "t1": 3, "big": DECODED_KEPT}
    runs = [RunSpec("s", t, m, k) for t in tasks for m in ("a", "b") for k in range(counts[t])]
    ordered = session_order(runs, tasks)
    assert len(ordered) == len(runs) and set(ordered) == set(runs)
    labels = [(r.task, r.method) for r in ordered]
    # within the rt chunk, a's runs on both tasks, then b's; tasks and replicates in order
    assert labels[:12] == [("r1", "a")] * 3 + [("r2", "a")] * 3 + [("r1", "b")] * 3 + \
        [("r2", "b")] * 3
    assert [r.replicate for r in ordered[:3]] == [0, 1, 2]
    # t1 and big together would hold more replicates than the driver keeps decoded
    assert labels[12:18] == [("t1", "a")] * 3 + [("t1", "b")] * 3
    assert {t for t, _ in labels[18:]} == {"big"}


def test_only_a_file_of_baselines_is_taken_for_a_baseline(tiny_world) -> None:
    """An entry point's origin is free text: ending it in ``[/../../…/baselines/x]`` makes a
    lenient resolve land in ``baselines/``; a strict one on an existing file does not."""
    from benchmark.core.paths import baselines_dir
    from benchmark.methods.catalog import PluginRef
    from benchmark.run.session import reference_code

    ups = "/.." * 40
    assert reference_code(PluginRef("naive", str(baselines_dir() / "naive.py")))
    spoofed = f"entry point evil = json:JSONDecoder [{ups}{baselines_dir()}/x]"
    assert not reference_code(PluginRef("evil", spoofed))
    assert not reference_code(PluginRef("evil", f"{ups}{baselines_dir()}/x.py"))  # no such file
    submission = tiny_world.add_submission("who-a", WHO.format(name="who-a")) / "method.py"
    assert not reference_code(PluginRef("who-a", str(submission)))
    link = tiny_world.root / "submissions" / "who-a" / "linked.py"
    link.symlink_to(baselines_dir() / "naive.py")  # a link into baselines/ is baseline code
    assert reference_code(PluginRef("who-a", str(link)))
    assert not reference_code(PluginRef("naive", str(baselines_dir() / "naive.py"), "refused"))
