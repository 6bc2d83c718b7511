"""Faults injected into runs: each fails its own run with a specific record; the sweep goes on."""

from __future__ import annotations

import os
import time

import pytest

from benchmark.core.bwrap import bwrap_works
from benchmark.results.records import iter_records
from benchmark.run.harness import Harness, RunSpec
from benchmark.run.pool import Limits
from tests.conftest import TINY_SUITE, TINY_TASK

HEADER = "import time\nimport numpy as np\nfrom benchmark.api.method import Method, register\n"

FAULTS = {
    "sleeper": '''
@register("sleeper")
class Sleeper(Method):
    """Hangs (tests)."""
    def fit_predict(self, inp):
        print("going to sleep", flush=True)
        time.sleep(120)
''',
    "hog": '''
@register("hog")
class Hog(Method):
    """Allocates memory until stopped (tests)."""
    def fit_predict(self, inp):
        print("allocating", flush=True)
        blocks = []
        for _ in range(400):
            blocks.append(np.ones(2**24))  # 128 MB each, touched
            time.sleep(0.05)
''',
    "nan-loss": '''
@register("nan-loss")
class NanLoss(Method):
    """A loss that turns NaN (tests)."""
    def loss(self, logits, weak_probs, progress):
        return (logits * float("nan")).sum()
''',
}


def test_timeouts_memory_and_nan_losses_fail_only_their_runs(tiny_world, tiny_task, tmp_path):
    for name, body in FAULTS.items():
        tiny_world.add_submission(name, HEADER + body)
    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, 0) for m in ["sleeper", "hog", "nan-loss", "naive"]]
    start = time.monotonic()
    harness = Harness(tmp_path, workers=2, progress=False,
                      limits=Limits(timeout_s=8, memory_mb=1500))
    summary = harness.run(runs, {TINY_TASK: tiny_task})
    assert time.monotonic() - start < 60
    records = {r.method: r for r in iter_records(tmp_path)}
    assert records["naive"].status == "ok" and summary.done == 1
    assert {run.method for run, _ in summary.failed} == {"sleeper", "hog", "nan-loss"}

    sleeper = records["sleeper"].error
    assert sleeper.type == "Timeout" and "8 s" in sleeper.message
    assert "going to sleep" in sleeper.log_tail
    hog = records["hog"].error
    assert hog.type == "MemoryLimitExceeded" and "1500 MB" in hog.message
    assert "allocating" in hog.log_tail
    nan = records["nan-loss"].error
    assert nan.type == "FloatingPointError" and "loss became nan" in nan.message


def _records_without_timing(folder):
    from benchmark.results.records import TIMING_FIELDS

    out = {}
    for record in iter_records(folder):
        data = record.model_dump(mode="json")
        for key in TIMING_FIELDS:
            data["compute"].pop(key)
        data["provenance"]["hardware"].pop("torch_threads", None)
        out[(record.method, record.replicate)] = data
    return out


def test_two_sweeps_on_one_results_dir_compute_each_run_once(tiny_world, tiny_task, tmp_path):
    import threading
    from multiprocessing import spawn

    python = spawn.get_executable()
    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in ["naive", "logconf", "product"]
            for k in range(2)]
    shared = tmp_path / "shared"
    summaries = []

    def sweep():
        harness = Harness(shared, workers=1, progress=False)
        summaries.append(harness.run(runs, {TINY_TASK: tiny_task}))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(summaries) == 2, "a sweep thread died"
    # two pools in two threads each set spawn's one executable to their sandbox launcher
    assert spawn.get_executable() == python, "a sandbox launcher was left as the executable"
    done = sum(s.done for s in summaries)
    assert done == len(runs), [vars(s) for s in summaries]  # nothing computed twice
    assert all(not s.failed for s in summaries)
    assert not list(shared.rglob("*.claim")) and not list(shared.rglob("*.tmp*"))
    Harness(tmp_path / "serial", workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
    assert _records_without_timing(shared) == _records_without_timing(tmp_path / "serial")


def test_writes_a_crash_cut_short_are_cleared_when_their_run_is_taken(tiny_world, tiny_task,
                                                                      tmp_path):
    """A driver killed while writing a record, the predictions file before it, or its claim,
    leaves a temp file; the sweep that takes the run over removes all three kinds (and no
    other run's)."""
    run = RunSpec(TINY_SUITE, TINY_TASK, "naive", 0)
    folder = run.path(tmp_path).parent
    folder.mkdir(parents=True)
    torn = [folder / ".replicate-0.json.k2j4.tmp",
            folder / ".replicate-0.8f1764ba91f508cc.predictions.npy.tzzwmb4g.tmp",
            folder / ".replicate-0.json.claim.a81kq0.tmp"]
    other = folder / ".replicate-1.json.x9q1.tmp"  # replicate 1 is not in this sweep
    for path in (*torn, other):
        path.write_bytes(b"half a file")
    summary = Harness(tmp_path, workers=1, progress=False).run([run], {TINY_TASK: tiny_task})
    assert summary.done == 1
    assert not any(path.exists() for path in torn)
    assert other.exists()


def test_claims_of_live_sweeps_are_honoured_and_dead_ones_taken_over(tiny_world, tiny_task,
                                                                     tmp_path):
    import json
    import os
    import subprocess
    import sys

    from benchmark.run.claims import HOST, claim_path

    runs = [RunSpec(TINY_SUITE, TINY_TASK, "naive", k) for k in range(2)]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    for run, pid in zip(runs, [os.getppid(), int(dead)], strict=True):  # live, then dead
        path = claim_path(run.path(tmp_path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"host": HOST, "pid": pid}))
    summary = Harness(tmp_path, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
    assert (summary.done, summary.claimed) == (1, 1)
    assert [r.replicate for r in iter_records(tmp_path)] == [1]
    assert claim_path(runs[0].path(tmp_path)).exists()  # still the live owner's


def test_a_claim_its_owner_never_wrote_is_honoured_briefly_then_taken_over(tiny_world,
                                                                         tiny_task, tmp_path):
    """A sweep killed between creating its claim and writing it leaves an empty file with no
    owner to ask; a rerun must not skip that run for ever (the CI failure of stop 44)."""
    import os
    import time

    from benchmark.run.claims import TORN_CLAIM_AGE_S, claim_path

    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m, k in
            (("naive", 0), ("naive", 1), ("logconf", 1))]
    contents = [b"", b"", b'{"host": "x", "pi']  # fresh empty, old empty, old torn
    for run, content in zip(runs, contents, strict=True):
        path = claim_path(run.path(tmp_path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    old = time.time() - TORN_CLAIM_AGE_S - 5
    for run in runs[1:]:
        os.utime(claim_path(run.path(tmp_path)), (old, old))
    summary = Harness(tmp_path, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
    assert (summary.done, summary.claimed) == (2, 1)
    assert sorted((r.method, r.replicate) for r in iter_records(tmp_path)) == [
        ("logconf", 1), ("naive", 1)]
    assert claim_path(runs[0].path(tmp_path)).read_bytes() == b""  # still someone's, for now
    assert not claim_path(runs[1].path(tmp_path)).exists()


KILLED_METHODS = ["naive", "logconf", "product", "entropy", "adaptconf", "early-stop"]


def _sweep_child(tiny_world, results, kill_after=None):
    """Run a sweep of KILLED_METHODS in a child process to the end (its summary), or SIGKILL
    it, driver and workers, once ``kill_after(results, seconds)`` says so."""
    import json
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO

    spec = {"root": str(tiny_world.root), "cache": str(tiny_world.cache),
            "wheel": str(tiny_world.wheel), "bert_dir": str(tiny_world.bert_dir),
            "results": str(results), "methods": KILLED_METHODS, "replicates": 2}
    proc = subprocess.Popen([sys.executable, "-m", "tests.sweep_child", json.dumps(spec)],
                            cwd=REPO, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if kill_after is None:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])
    start = time.monotonic()
    while proc.poll() is None and not kill_after(results, time.monotonic() - start):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep: driver and its workers
    proc.communicate()
    return None


def written(results):
    return len(list(results.rglob("replicate-*.json")))


@pytest.mark.skipif(bool(bwrap_works()) and not os.environ.get("CI"),
                    reason=f"no sandbox on this machine ({bwrap_works()})")
def test_a_sandboxed_sweep_killed_again_and_again_resumes_whole(tiny_world, tmp_path):
    """The red team's check, repeated: one results folder, its sandboxed sweep killed at
    eight moments in a row (starting up, between records, part-way), then a plain rerun.
    Every rerun starts its workers, and the last one ends with every record, as a sweep
    never killed writes them."""
    import random

    _sweep_child(tiny_world, tmp_path / "ref")
    reference = _records_without_timing(tmp_path / "ref")
    results = tmp_path / "killed"
    rng = random.Random(1)
    for _ in range(8):
        already, delay = written(results), rng.uniform(0.2, 3.0)
        _sweep_child(tiny_world, results,
                     lambda r, t, a=already, d=delay: t > d or written(r) > a + 2)
    summary = _sweep_child(tiny_world, results)
    assert summary["failed"] == 0 and summary["done"] + summary["skipped"] == len(reference)
    assert _records_without_timing(results) == reference
    assert not list(results.rglob("*.claim")) and not list(results.rglob("*.tmp"))


def test_sigkill_at_random_moments_then_resume_loses_and_duplicates_nothing(tiny_world,
                                                                           tmp_path):
    """Kill a real sweep (driver and workers) with SIGKILL, rerun it, compare the records."""
    import random

    from benchmark.results.records import load_predictions, read_record

    methods = KILLED_METHODS

    def child(results, kill_after=None):
        return _sweep_child(tiny_world, results, kill_after)

    child(tmp_path / "ref")
    reference = _records_without_timing(tmp_path / "ref")
    assert len(reference) == len(methods) * 2
    rng = random.Random(0)
    early, later = rng.uniform(0.5, 2.0), rng.randint(3, 8)
    moments = [  # while starting up; just after the first record; part-way through
        lambda r, t: t > early,
        lambda r, t: written(r) >= 1,
        lambda r, t: written(r) >= later,
    ]
    killed_partway = 0
    for trial, moment in enumerate(moments):
        results = tmp_path / f"trial-{trial}"
        child(results, kill_after=moment)
        before = written(results)
        killed_partway += 0 < before < len(reference)
        summary = child(results)
        assert summary["done"] + summary["skipped"] == len(reference), summary
        assert summary["skipped"] == before  # every record that was written was whole
        files = sorted(results.rglob("*"))
        # nothing torn or left over: records, and the predictions file each one hashes
        sidecars = {f for f in files if f.name.endswith(".predictions.npy")}
        assert not [f for f in files if f.is_file() and not f.name.endswith(".json")
                    and f not in sidecars], files
        for path in results.rglob("replicate-*.json"):
            record = read_record(path)
            load_predictions(path, record)  # present, and the one the record hashes
            sidecars.discard(path.parent / record.predictions.file)
        assert not sidecars, sidecars
        assert _records_without_timing(results) == reference
    assert killed_partway >= 1, "no trial interrupted the sweep part-way"




def test_a_damaged_feature_cache_entry_is_recomputed_not_read(tiny_world, tiny_task):
    import numpy as np

    from benchmark.models.features import all_layer_features
    from benchmark.run.harness import TaskContexts

    ctx = TaskContexts().get(tiny_task)
    texts = [e.text for e in ctx.pool]
    good = np.array(np.load(ctx.feature_file))
    original = ctx.feature_file.read_bytes()
    try:
        ctx.feature_file.write_bytes(original[: len(original) // 2])  # a torn entry
        again = np.array(all_layer_features("tiny-bert", texts))
        assert np.array_equal(again, good)
        assert ctx.feature_file.stat().st_size == len(original)
    finally:
        ctx.feature_file.write_bytes(original)


SCRIBBLER = HEADER + '''
import os
from pathlib import Path


@register("scribbler")
class Scribbler(Method):
    """Writes files where it should not (tests)."""
    def fit_predict(self, inp):
        Path("notes.txt").write_text("relative writes land in the scratch dir")
        assert Path.cwd() == inp.scratch_dir
        frozen = Path(os.environ["W2S_BENCH_ROOT"]) / "tasks" / "frozen"
        target = next(frozen.glob("*/replicate-1.csv.gz"))
        target.write_bytes(target.read_bytes()[:-1] + b"x")
        return np.full((len(inp.test_ids), 2), 0.5)
'''


def test_a_method_writing_outside_its_scratch_cannot_go_unnoticed(tiny_world, tiny_task,
                                                                   tmp_path, monkeypatch):
    """The second line of defence, for trusted code run without the sandbox (inside it, the
    frozen files are not even visible: tests/test_redteam.py)."""
    import pytest

    from benchmark.core.errors import IntegrityError
    from tests.conftest import unconfined

    unconfined(monkeypatch)

    frozen = tiny_world.frozen / "replicate-1.csv.gz"
    original = frozen.read_bytes()
    tiny_world.add_submission("scribbler", SCRIBBLER)
    try:
        runs = [RunSpec(TINY_SUITE, TINY_TASK, "scribbler", 0),
                RunSpec(TINY_SUITE, TINY_TASK, "naive", 1)]
        with pytest.raises(IntegrityError, match="does not match its lock"):
            Harness(tmp_path, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
        assert not list(tmp_path.rglob("naive/*.json"))  # nothing scored on tampered labels
        assert not (tiny_world.root / "notes.txt").exists()
    finally:
        frozen.write_bytes(original)
