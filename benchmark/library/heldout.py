"""Held-out draws: a maintainer scores methods on fresh split draws of a suite's tasks,
seeded by a secret the submitter never sees, so a method tuned to the public draws shows a
gap between its public and its held-out score. The draws are fresh cuts of the same pool:
held-out test rows are examples some public draw also used, so what it catches is tuning to
the particular public draws, not knowledge of the pool's texts.

The secret comes from ``W2S_BENCH_HELDOUT_SECRET`` or a file outside the repository. A
task's held-out seed is HMAC-SHA256(secret, its public seed) (tasks sharing a public draw
share a held-out one), so it cannot be derived without the secret; the methods' runs get the
public seeds (``run_seed``), never the held-out ones. The draws (tasks, frozen labels,
records) live in a folder outside the repository: a *held-out world* whose ``tasks/`` holds
the suite's tasks with only their split seed changed (the same pool, supervisor, student and
settings), and whose baselines and submissions are the repository's own. ``freeze`` and
``run`` work there unchanged (``W2S_BENCH_ROOT``, and the world as working directory),
under the suite ``<suite>-heldout``. Published, the board shows each method's held-out
score beside its public one and nothing a held-out run wrote (versions, errors, curves).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from benchmark.core.errors import SpecError
from benchmark.core.paths import repo_root, tasks_dir
from benchmark.core.storage import atomic_write_text
from benchmark.core.suite_names import WORLD_MARKER, heldout_of
from benchmark.tasks.spec import TASKS
from benchmark.tasks.suites import SUITES

SECRET_ENV = "W2S_BENCH_HELDOUT_SECRET"
MIN_SECRET = 16   # characters: a short secret could be searched for
SEED_SPAN = 2**31 - 1 - 1000   # leaves room for a task's replicate seeds (seed + k)


def read_secret(secret_file: Path | None = None) -> bytes:
    """The secret, from ``secret_file`` (never one inside the repository) or the
    environment; refused when missing or shorter than :data:`MIN_SECRET` characters."""
    if secret_file is not None:
        path = secret_file.expanduser().resolve()
        if path.is_relative_to(repo_root().resolve()):
            raise SpecError(f"{secret_file}: the held-out secret must live outside the "
                            f"repository ({repo_root()}), where no commit can publish it")
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SpecError(f"{secret_file}: cannot read the held-out secret: {exc}") from None
    else:
        text = os.environ.get(SECRET_ENV, "").strip()
        if not text:
            raise SpecError(f"no held-out secret: set {SECRET_ENV} or pass --secret-file "
                            "(a file outside the repository)")
    if len(text) < MIN_SECRET:
        raise SpecError(f"the held-out secret has {len(text)} characters; use at least "
                        f"{MIN_SECRET} (e.g. `python -c 'import secrets; "
                        "print(secrets.token_hex(32))'`)")
    return text.encode("utf-8")


def heldout_seed(secret: bytes, public_seed: int, replicates: int) -> int:
    """The held-out split seed of the tasks drawing with ``public_seed``: keyed by the secret
    and the public seed, so tasks that share a public draw (twins, one block) share a
    held-out one; never one whose replicate draws overlap the public ones."""
    digest = hmac.new(secret, b"w2s-bench heldout\0%d" % public_seed, hashlib.sha256)
    seed = int.from_bytes(digest.digest()[:8], "big") % SEED_SPAN
    if abs(seed - public_seed) < replicates:
        seed = (seed + 2 * replicates) % SEED_SPAN
    return seed


def make_world(suite: str, out: Path, secret: bytes) -> str:
    """Write the held-out world for ``suite`` into ``out`` (outside the repository) and
    return its suite's name."""
    out = out.expanduser().resolve()
    root = repo_root().resolve()
    if out.is_relative_to(root):
        raise SpecError(f"{out}: the held-out world must live outside the repository "
                        f"({root}): its tasks hold the secret seeds")
    spec = SUITES.get(suite)
    name = heldout_of(suite)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    for task_id in spec.tasks:
        task = TASKS.get(task_id)
        raw = yaml.safe_load((tasks_dir() / f"{task_id}.yaml").read_text(encoding="utf-8"))
        if task.pool is None and task.dataset.source != "hub":
            # a task without a pool block draws its pool with its seed: pin the public pool,
            # so only the split draws change (a hub task's test rows are drawn from the
            # hub's test split with the seed: there they are fresh draws of that split)
            raw["pool"] = {"size": task.pool_size, "seed": task.pool_seed}
        raw["seed"] = heldout_seed(secret, task.seed, task.replicates)
        # its methods get the public seeds: what a run can write out reveals no split seed
        raw["run_seed"] = task.seed if task.run_seed is None else task.run_seed
        atomic_write_text(out / "tasks" / f"{task_id}.yaml", "# held-out draws: seed from the "
                          "maintainer's secret; never commit this file\n"
                          + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    for shared in sorted(p for p in tasks_dir().iterdir() if p.is_dir()):
        if shared.name not in ("frozen", "suites") and not (out / "tasks" / shared.name).exists():
            (out / "tasks" / shared.name).symlink_to(shared, target_is_directory=True)
    suites = {name: {"description": f"{suite} on fresh split draws seeded by the maintainer's "
                                    "secret (held-out)",
                     "tasks": list(spec.tasks), "limits": spec.limits.model_dump(),
                     **({"replicates": spec.replicates} if spec.replicates else {})}}
    atomic_write_text(out / "tasks" / "suites.yaml", yaml.safe_dump(suites, sort_keys=False))
    for folder in ("baselines", "submissions"):
        if not (out / folder).exists():
            (out / folder).symlink_to(root / folder, target_is_directory=True)
    shutil.copyfile(root / "pyproject.toml", out / "pyproject.toml")
    atomic_write_text(out / WORLD_MARKER, f"A held-out world of suite {suite}: its tasks hold "
                      "secret split seeds. Never commit or publish this folder; publish the "
                      "board built with `w2s-bench leaderboard --heldout-dir`.\n")
    return name


Runner = Callable[[list[str], dict[str, str]], int]


def in_child(argv: list[str], env: dict[str, str]) -> int:
    """``w2s-bench ARGV`` in a fresh process with ``env``: the world's registries are read
    from its own root, and nothing of this process's loaded tasks carries over."""
    root = env["W2S_BENCH_ROOT"]   # its working directory too: never the repository's
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *argv], env=env, cwd=root,
                          check=False).returncode


def run_heldout(suite: str, out: Path, secret: bytes, methods: list[str],
                extra: Sequence[str] = (), runner: Runner = in_child) -> int:
    """Freeze the held-out world's tasks and run ``methods`` there (``extra``: more ``run``
    options); the records land in ``out/results``."""
    name = make_world(suite, out, secret)
    out = out.expanduser().resolve()
    # frozen as the public draws were: a task frozen before the equal-gold protocol again so
    legacy = any(not TASKS.get(t).under_protocol for t in SUITES.get(suite).tasks)
    env = {**os.environ, "W2S_BENCH_ROOT": str(out)}
    env.pop(SECRET_ENV, None)   # the runs never see the secret (their seeds suffice)
    steps = [["freeze", "--suite", name, "--no-progress",
              *(["--legacy-protocol"] if legacy else [])],
             ["run", "--suite", name, "--results-dir", str(out / "results"),
              "--leaderboard-dir", str(out / "leaderboard"),
              *(["--methods", ",".join(methods)] if methods else []), *extra]]
    for step in steps:
        code = runner(step, env)
        if code != 0:
            return code
    return 0
