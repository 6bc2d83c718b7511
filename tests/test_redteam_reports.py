"""Red team, second round: what a run sends back, and the resources it takes.

Each attacker is a real submission in a real sandboxed sweep beside ``naive``:

- a pickle whose unpickling would create a file on the host, written to every pipe and
  socket the run can reach (the old driver read its connection with ``Connection.recv``);
- a second report written to the run's own report pipe before the harness writes the real
  one (the old pool took an extra message as the next job's result);
- an object returned from ``fit_predict`` that is no array (the old worker put it in the
  result as it was, and the driver unpickled it);
- a report larger than any run of its shape can need;
- a run over each resource limit: disk (one large file, and many small ones), its
  in-memory /tmp and /dev/shm, processes.

Each is stopped with its reason, no marker file appears, the driver never unpickles a byte
(``Connection.recv``'s unpickler is replaced by one that fails the test), and ``naive``
scores exactly what it scores in a clean sweep.
"""

from __future__ import annotations

import multiprocessing.connection
import os
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

from benchmark.core.bwrap import bwrap_works
from benchmark.results.records import iter_records
from benchmark.run.harness import Harness, RunSpec
from benchmark.run.report import RunOutput, encode
from benchmark.tasks.spec import Resources
from tests.conftest import TINY_SUITE, TINY_TASK
from tests.test_redteam import attacker

pytestmark = pytest.mark.skipif(
    bool(bwrap_works()) and not os.environ.get("CI"),
    reason=f"no sandbox on this machine ({bwrap_works()})")

# what every channel attack starts with: the descriptors above 2 of the given kinds
CHANNELS = '''
def channels(*kinds):
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            kind = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if fd > 2 and kind.startswith(kinds):
            yield fd
'''

SPRAY = CHANNELS + '''
import pickle
class Payload:
    def __reduce__(self):
        return (open, (MARKER, "w"))
blob = pickle.dumps(Payload())
message = len(blob).to_bytes(4, "big") + blob  # a multiprocessing Connection message
for fd in channels("pipe:", "socket:"):
    try:
        os.set_blocking(fd, False)
        os.write(fd, message)
    except OSError:
        pass
return chance(inp)'''

SECOND_REPORT = CHANNELS + '''
for fd in channels("pipe:"):
    try:
        os.write(fd, FRAME)
    except OSError:
        pass
return chance(inp)'''

NOT_AN_ARRAY = '''
class Payload:
    def __reduce__(self):
        return (open, ({marker!r}, "w"))
return Payload()'''

OVERSIZED = CHANNELS + '''
junk = b"x" * (1 << 20)
for fd in channels("pipe:"):
    try:
        for _ in range(64):
            os.write(fd, junk)
    except OSError:
        pass
return chance(inp)'''

MANY_FILES = '''
import time
for i in range(40):
    with open(f"part-{i}.bin", "wb") as out:
        out.write(b"x" * (1 << 20))
time.sleep(30)
return chance(inp)'''

FILL_TMP = '''
with open("{folder}/fill.bin", "wb") as out:
    for _ in range(64):
        out.write(b"x" * (1 << 20))
return chance(inp)'''
BIG_FILE = FILL_TMP.format(folder=".")  # in its scratch folder: one file past disk_mb

FORK_MANY = '''
import time
children = []
for _ in range(64):
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
time.sleep(30)
return chance(inp)'''


THREAD_MANY = '''
import threading, time
for _ in range(64):  # threads of the run's own process count as much as processes
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
time.sleep(30)
return chance(inp)'''


class NoUnpickling(ForkingPickler):
    """``Connection``'s pickler in the driver, whose unpickling is a failure: the driver may
    pickle jobs to its workers, never unpickle what comes back."""

    calls: list[int] = []

    @classmethod
    def loads(cls, data, *args, **kwargs):
        cls.calls.append(len(bytes(data)))
        raise AssertionError("the driver unpickled bytes from a connection")


@pytest.fixture
def no_unpickling(monkeypatch):
    NoUnpickling.calls = []
    monkeypatch.setattr(multiprocessing.connection, "_ForkingPickler", NoUnpickling)
    yield NoUnpickling.calls


def limited(spec, **limits):
    return spec.model_copy(update={"resources": Resources(**{
        **spec.resources.model_dump(), **limits})})


def test_nothing_a_run_sends_back_is_unpickled_and_one_report_counts(
        tiny_world, tiny_task, tmp_path, monkeypatch, no_unpickling) -> None:
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    clean = tmp_path / "clean"
    Harness(clean, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, "naive", k) for k in range(2)], {TINY_TASK: tiny_task})

    marker = tmp_path / "host-marker"  # a host path: only an unpickler outside could make it
    n_test = tiny_task.splits.test
    frame = encode(RunOutput(probs=np.full((n_test, 2), 0.5)))
    table = {
        # a run's reports are length-prefixed frames: bytes before its own read as a length
        "fd-spray": (SPRAY.replace("MARKER", repr(str(marker))), "InvalidReport",
                     "not one report"),
        "second-report": (SECOND_REPORT.replace("FRAME", repr(frame)), "InvalidReport",
                          "not one report"),
        "not-an-array": (NOT_AN_ARRAY.format(marker=str(marker)), "InvalidOutput",
                         "not an array of probabilities"),
        "oversized": (OVERSIZED, "InvalidReport", "bytes as its report"),
    }
    for name, (body, _, _) in table.items():
        tiny_world.add_submission(name, attacker(name, body))
    results = tmp_path / "attacked"
    methods = ["naive", *table]
    summary = Harness(results, workers=2, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(2)],
        {TINY_TASK: tiny_task})
    assert summary.done + len(summary.failed) == 2 * len(methods)
    records = {(r.method, r.replicate): r for r in iter_records(results)}
    for name, (_, kind, reason) in table.items():
        for k in range(2):
            record = records[name, k]
            assert record.status == "failed", (name, record.metrics)
            assert (record.error.type, record.provenance.sandbox) == (kind, "bwrap"), \
                (name, record.error)
            assert reason in record.error.message, (name, record.error.message)
    assert not marker.exists(), "a pickle a run wrote was unpickled outside the sandbox"
    assert no_unpickling == [], "the driver unpickled a connection's bytes"
    alone = {r.replicate: r for r in iter_records(clean)}
    for k in range(2):
        assert records["naive", k].status == "ok"
        assert records["naive", k].metrics == alone[k].metrics, "an attacker changed naive"


def test_each_resource_limit_stops_its_run_and_names_itself(
        tiny_world, tiny_task, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    spec = limited(tiny_task, disk_mb=16, tmp_mb=8, processes=16)
    clean = tmp_path / "clean"
    Harness(clean, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, "naive", 0)], {TINY_TASK: spec})
    table = {
        "big-file": (BIG_FILE, "DiskLimitExceeded", "16 MB"),
        "many-files": (MANY_FILES, "DiskLimitExceeded", "16 MB"),
        "fill-tmp": (FILL_TMP.format(folder="/tmp"), "TmpLimitExceeded", "8 MB"),
        "fill-shm": (FILL_TMP.format(folder="/dev/shm"), "TmpLimitExceeded", "8 MB"),
        "fork-many": (FORK_MANY, "ProcessLimitExceeded", "16"),
        "thread-many": (THREAD_MANY, "ProcessLimitExceeded", "16"),
    }
    for name, (body, _, _) in table.items():
        tiny_world.add_submission(name, attacker(name, body))
    results = tmp_path / "limited"
    methods = ["naive", *table]
    Harness(results, workers=2, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, m, 0) for m in methods], {TINY_TASK: spec})
    records = {r.method: r for r in iter_records(results)}
    for name, (_, kind, value) in table.items():
        record = records[name]
        assert record.status == "failed" and record.error.type == kind, (name, record.error)
        assert value in record.error.message and "resources." in record.error.message, \
            (name, record.error.message)
    # nothing over the limit stays on disk: a run stopped for its disk has no folder left
    assert not list((results / ".scratch").rglob("*.bin"))  # fill.bin, part-*.bin
    assert records["naive"].metrics == next(iter_records(clean)).metrics


FEATURES_WRITE = '''
with open(inp.feature_file, "r+b") as cache:  # a descriptor's path reopens its file
    cache.seek(200)
    cache.write(b"poison" * 100)
return chance(inp)'''

FORKING_SURVIVOR = '''
import signal, time
if os.fork() == 0:  # keeps forking to a new pid, then kills whatever it can see
    for _ in range(3000):
        if os.fork() != 0:
            os._exit(0)
    time.sleep(1.5)
    os.kill(-1, signal.SIGKILL)
    os._exit(0)
return chance(inp)'''

AREA_VANDAL = '''
import shutil
for name in ("junk-a.bin", "junk-b.bin"):  # beside its folder, where the next run lives
    with open(f"/w2s/run/{name}", "wb") as out:
        out.write(b"x" * (12 << 20))
os.mkfifo("/w2s/run/fifo")
os.chdir("/w2s/run")
shutil.rmtree("/w2s/run/run")
os.symlink("/nonexistent", "/w2s/run/run")  # its folder, replaced by a dangling link
return chance(inp)'''

FIFO_LOG = '''
os.remove(".w2s-run.log")
os.mkfifo(".w2s-run.log")  # the harness reads a failed run's log
os._exit(3)'''

TAMPER = '''
import resource
worker = os.getppid()
resource.prlimit(worker, resource.RLIMIT_NOFILE, (64, 64))  # every later run inherits it
return chance(inp)'''

TAMPER_SCHEDULER = '''
os.sched_setscheduler(os.getppid(), os.SCHED_IDLE, os.sched_param(0))  # later runs starve
return chance(inp)'''

INIT_ATTACH = '''
import ctypes, signal
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(16, 1, None, None) == 0:  # PTRACE_ATTACH to the sandbox's init
    raise RuntimeError("attached to the sandbox's init, which outlives every run")
os.kill(1, signal.SIGKILL)
return chance(inp)'''

CLOSED_TMP = '''
os.makedirs("/tmp/.cache/kept")
with open("/tmp/.cache/kept/poison", "w") as out:
    out.write("for the next method")
os.chmod("/tmp/.cache/kept", 0o500)  # its owner, without CAP_DAC_OVERRIDE, cannot empty it
os.chmod("/tmp/.cache", 0o500)
return chance(inp)'''

TMP_READER = '''
if os.path.exists("/tmp/.cache/kept/poison"):
    raise RuntimeError("read what the previous run left")
return chance(inp)'''


def test_a_run_cannot_reach_other_runs_through_the_cache_its_worker_or_its_area(
        tiny_world, tiny_task, tmp_path, monkeypatch) -> None:
    """Each attacker runs first in its worker, then naive runs in the same worker: naive
    scores exactly as in a clean sweep, and the feature cache is unchanged."""
    import hashlib

    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    spec = limited(tiny_task, disk_mb=16)
    clean = tmp_path / "clean"
    Harness(clean, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, "naive", 0)], {TINY_TASK: spec})
    alone = next(iter_records(clean)).metrics

    def cache_digest() -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(tiny_world.cache.rglob("*.npy"))}

    before = cache_digest()
    assert before, "the tiny world caches its features"
    table = {"features-write": (FEATURES_WRITE, "failed", "Operation not permitted"),
             "forking-survivor": (FORKING_SURVIVOR, "ok", ""),
             "area-vandal": (AREA_VANDAL, None, ""),
             "fifo-log": (FIFO_LOG, "failed", "WorkerDied"),
             "tamper": (TAMPER, "failed", "WorkerTampered"),
             "tamper-scheduler": (TAMPER_SCHEDULER, "failed", "WorkerTampered"),
             "init-attach": (INIT_ATTACH, "ok", ""),
             "closed-tmp": (CLOSED_TMP, "ok", "")}
    followers = {"closed-tmp": ["tmp-reader"]}  # runs between the attacker and naive
    tiny_world.add_submission("tmp-reader", attacker("tmp-reader", TMP_READER))
    for name, (body, _, _) in table.items():
        tiny_world.add_submission(name, attacker(name, body))
    for name, (_, status, reason) in table.items():
        results = tmp_path / name
        methods = [name, *followers.get(name, []), "naive"]
        runs = [RunSpec(TINY_SUITE, TINY_TASK, m, 0) for m in methods]
        summary = Harness(results, workers=1, progress=False).run(runs, {TINY_TASK: spec})
        assert summary.done + len(summary.failed) == len(methods), name
        records = {r.method: r for r in iter_records(results)}
        for follower in followers.get(name, []):
            assert records[follower].status == "ok", (name, records[follower].error)
        if status is not None:
            attack = records[name]
            assert attack.status == status, (name, attack.error)
            if reason:
                assert reason in f"{attack.error.type}: {attack.error.message}", \
                    (name, attack.error)
        assert records["naive"].status == "ok", (name, records["naive"].error)
        assert records["naive"].metrics == alone, f"{name} changed the next run"
        assert not list(results.rglob("junk-*.bin")), name
    assert cache_digest() == before, "a run changed the feature cache"


FORGER = '''
import json, signal
from benchmark.api import Method, register

FORGED = json.dumps([{"name": "scaled", "config": {"p1": 0.1}}, {"name": "forger"}])
for fd in map(int, os.listdir("/proc/self/fd")):  # at import, where discovery runs it
    try:
        kind = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if fd > 2 and kind.startswith(("pipe:", "socket:")):
        try:
            os.write(fd, FORGED.encode())
        except OSError:
            pass
os.kill(os.getppid(), signal.SIGKILL)  # the examiner: its own answer never comes


@register("forger")
class Forger(Method):
    """Red-team attack (tests): forges another plugin's examination."""

    def fit_predict(self, inp):
        return np.full((len(inp.test_ids), 2), 0.5)
'''

SCALED = '''
import numpy as np
from benchmark.api import Method, register


@register("scaled")
class Scaled(Method):
    """Predicts a constant that its option sets (tests)."""

    defaults = {"p1": 0.5}

    def fit_predict(self, inp):
        return np.tile([1 - self.config["p1"], self.config["p1"]], (len(inp.test_ids), 1))
'''


def test_a_plugin_cannot_forge_another_plugins_examination(tiny_world, tiny_task, tmp_path,
                                                           monkeypatch) -> None:
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    tiny_world.add_submission("scaled", SCALED, {"hyperparameters": {"p1": 0.9}})
    tiny_world.add_submission("forger", "import os\nimport numpy as np\n" + FORGER)
    Harness(tmp_path, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, m, 0) for m in ("scaled", "forger")],
        {TINY_TASK: tiny_task})
    records = {r.method: r for r in iter_records(tmp_path)}
    scaled = records["scaled"]
    assert scaled.provenance.method_config != {"p1": 0.1}, "the forged options were used"
    if scaled.status == "ok":
        assert scaled.provenance.method_config == {"p1": 0.9}
