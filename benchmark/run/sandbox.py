"""Run areas: where a sandboxed worker's runs live while it runs them.

A sandboxed worker (:mod:`benchmark.core.bwrap`) can write only to its run area. Before each
run the harness moves that run's scratch folder in (kept from a failed or killed run, for its
checkpoints) and moves it back out afterwards, so a run never sees another's folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from benchmark.core.bwrap import (
    DEFAULT_TMP_MB,
    ENV_SWITCH,
    NONE,
    bwrap_works,
    worker_policy,
    write_launcher,
)
from benchmark.core.confine import empty_folder
from benchmark.core.storage import atomic_write_text
from benchmark.run.claims import pid_alive
from benchmark.run.spec import SCRATCH


def move_in(scratch: Path, area: Path) -> None:
    """Move a run's scratch folder (kept from a failed or killed run, for its checkpoints)
    into a worker's run area, where the sandboxed worker finds it at ``RUN_AREA_RUN``.

    The note of where it came from is written first, and atomically: a driver killed at any
    moment leaves either no note and the folder in place, or a whole note the next driver
    moves it back by. (Written after the move, a kill in between lost the folder with the
    dead driver's area; a kill mid-write left an empty note, read back as ".", the
    driver's working directory, which the next driver then deleted.)"""
    empty_area(area)
    atomic_write_text(_origin(area), str(scratch.absolute()), durable=False)
    if scratch.is_dir() and not scratch.is_symlink():
        _move(scratch, area / "run")
    else:
        (area / "run").mkdir(parents=True)


def empty_area(area: Path) -> None:
    """Remove everything in a run area (what a run left beside or instead of its folder:
    files, links, pipes, folders it closed), never following a link."""
    empty_folder(area)


def _origin(area: Path) -> Path:
    """Which run's folder is in ``area`` (beside it: the run can write inside its area)."""
    return area.parent / f"{area.name}.origin"


def move_out(area: Path, scratch: Path) -> None:
    """Move it back when the run is over (a successful run has deleted it already). Only a
    real folder comes back (a link or a pipe the run left in its place does not), and
    nothing else the run left in its area stays for the next run."""
    run = area / "run"
    if run.is_dir() and not run.is_symlink():
        scratch.parent.mkdir(parents=True, exist_ok=True)
        if scratch.exists() or scratch.is_symlink():
            shutil.rmtree(scratch, ignore_errors=True)
        try:
            _move(run, scratch)
        except OSError:  # a copy across disks met something it cannot copy: drop it
            shutil.rmtree(scratch, ignore_errors=True)
    empty_area(area)
    _origin(area).unlink(missing_ok=True)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:  # the run areas sit on another disk than the results
        if exc.errno != errno.EXDEV:
            raise
        # links copied as links, pipes and devices left behind (copying a pipe blocks)
        shutil.copytree(source, target, symlinks=True, ignore=_special_files)
        shutil.rmtree(source, ignore_errors=True)


def _special_files(folder: str, names: list[str]) -> set[str]:
    import stat

    skipped = set()
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def sealed_copy(path: str) -> int:
    """A descriptor of an in-memory copy of ``path`` that nobody can change: a memfd sealed
    against writes, growth and shrinking. A run reopening a descriptor of the feature file
    itself through ``/proc/self/fd`` would get the host's writable mount, whatever the
    descriptor's own mode; a sealed copy refuses every write."""
    import fcntl

    fd = os.memfd_create("w2s-features", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        with open(path, "rb") as source, os.fdopen(os.dup(fd), "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 22)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK
                    | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    except BaseException:
        os.close(fd)
        raise
    return fd


SPAWN_LOCK = threading.Lock()  # guards multiprocessing's one spawn executable


class RunSandbox:
    """The sandbox of one pool: the policy every worker gets, and one run area per worker
    under ``areas`` (a folder the harness owns, beside the results). Areas are named
    ``worker-<driver pid>-<token>-*``: two pools of one process never clear each other's."""

    def __init__(self, areas: Path, model_dirs: Iterable[Path] = (),
                 tmp_mb: int = DEFAULT_TMP_MB) -> None:
        self.areas = areas
        self.model_dirs = tuple(model_dirs)
        self.tmp_mb = tmp_mb
        self._sealed: dict[tuple[str, int, int, int], int] = {}
        self.prefix = f"worker-{os.getpid()}-{secrets.token_hex(4)}-"
        areas.mkdir(parents=True, exist_ok=True)
        for origin in areas.glob("worker-*.origin"):  # a driver died mid-run: give back
            if not _alive(_owner(origin)):
                scratch = _recorded_scratch(origin)
                if scratch is not None:
                    move_out(areas / origin.stem, scratch)
        # a dead driver's areas and launchers, and the temporary file of a note it was
        # killed while writing (atomic writes name it ``.<note>.<random>.tmp``)
        for stale in [*areas.glob("worker-*"), *areas.glob(".worker-*.tmp")]:
            if not _alive(_owner(stale)):
                _remove(stale)

    def sealed(self, path: str) -> int:
        """This pool's sealed copy of a feature file (made once per version of the file)."""
        info = os.stat(path)
        key = (path, info.st_ino, info.st_size, info.st_mtime_ns)
        if key not in self._sealed:
            self._sealed[key] = sealed_copy(path)
        return self._sealed[key]

    def close(self) -> None:
        """Remove this pool's run areas and launchers (every run has moved back out)."""
        for fd in self._sealed.values():
            os.close(fd)
        self._sealed.clear()
        for path in self.areas.glob(f"{self.prefix}*"):
            _remove(path)
        with contextlib.suppress(OSError):
            self.areas.rmdir()

    def new_area(self) -> Path:
        return Path(tempfile.mkdtemp(prefix=self.prefix, dir=self.areas))

    @contextlib.contextmanager
    def executable(self, area: Path, context: object) -> Iterator[None]:
        """While a worker starts, ``spawn`` launches the sandbox instead of python. The
        executable is a process-wide setting: two pools starting workers in two threads
        would otherwise restore each other's launcher (deleted later, so every worker
        spawned after it died at once), hence the lock."""
        from multiprocessing import spawn

        launcher = write_launcher(worker_policy(area, self.model_dirs, self.tmp_mb),
                                  area.parent / f"{area.name}.launcher", startup_log(area))
        with SPAWN_LOCK:
            before = spawn.get_executable()
            context.set_executable(str(launcher))  # type: ignore[attr-defined]
            try:
                yield
            finally:
                context.set_executable(before)  # type: ignore[attr-defined]


def startup_log(area: Path) -> Path:
    """Where a sandboxed worker's standard error goes (beside its area, which the run can
    write): the cause when a worker dies before it takes a job."""
    return area.parent / f"{area.name}.log"


def _recorded_scratch(origin: Path) -> Path | None:
    """The scratch folder a dead driver's note names, or None unless it is one: an absolute
    path shaped as :meth:`RunSpec.scratch` makes them, ``<results>/.scratch/<suite>/<task>/
    <method>/r<N>``. Moving back replaces that path, so nothing else (an empty or damaged
    note, a working directory, the whole ``.scratch``) may ever be taken for it."""
    try:
        text = origin.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    path = Path(text)
    parts = path.parts
    if (not text or not path.is_absolute() or ".." in parts or len(parts) < 6
            or parts[-5] != SCRATCH or not re.fullmatch(r"r\d+", parts[-1])):
        return None
    return path


def _owner(path: Path) -> int:
    """The pid of the driver that made a run area (0, never alive, if the name is odd)."""
    part = path.name.split("-")[1] if path.name.count("-") >= 2 else ""
    return int(part) if part.isdigit() else 0


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether the driver that made a run area still runs (0: an odd name, never alive;
    ``os.kill(0, 0)`` would ask about this process's own group)."""
    return pid > 0 and pid_alive(pid)


def run_areas(options: object) -> Path:
    """Where a local sweep's worker run areas go: beside its job folder, on the results'
    disk (so moving a scratch folder in and out is a rename)."""
    folder = getattr(options, "folder", None)
    return (Path(folder) if folder else Path(tempfile.gettempdir())) / "run-areas"


def why_no_sandbox() -> str:
    """Why runs get no sandbox here, for the refusal message."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() == NONE:
        return f"{ENV_SWITCH}=none"
    return bwrap_works() or "unknown"


def model_dirs(tasks: Iterable[object]) -> tuple[Path, ...]:
    """The weights finetune-regime runs load (the only cache folders a run may read)."""
    from benchmark.core.kinds import declared_kinds
    from benchmark.tasks.checkpoints import model_checkpoint

    found = []
    for spec in tasks:
        if getattr(spec, "regime", "probe") == "finetune":
            path = Path(model_checkpoint(spec.strong_model).path)  # type: ignore[attr-defined]
            if path.is_dir():
                found.append(path.resolve())
        for kind in declared_kinds(spec):   # e.g. a sandbagging task's locked students
            found += [Path(folder).resolve() for folder in kind.readable_dirs(spec)]
    return tuple(sorted(set(found)))
