"""Faults injected into runs: each fails its own run with a specific record; the sweep goes on."""

from __future__ import annotations

import time

from benchmark.harness import Harness, RunSpec
from benchmark.pool import Limits
from benchmark.records import iter_records
from tests.conftest import TINY_SUITE, TINY_TASK

HEADER = "import time\nimport numpy as np\nfrom benchmark.methods import Method, register\n"

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
