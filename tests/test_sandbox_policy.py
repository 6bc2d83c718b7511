"""The sandbox's policy as data (no bubblewrap needed): what it binds, and what it never does."""

from __future__ import annotations

from pathlib import Path

from benchmark.core.bwrap import SandboxPolicy, gpu_devices, worker_policy


def test_gpu_device_nodes_are_passed_through_with_sys(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    (dev / "dri").mkdir(parents=True)
    (dev / "nvidia-caps").mkdir()
    for node in ("nvidia0", "nvidiactl", "nvidia-uvm", "dri/renderD128", "nvidia-caps/cap1",
                 "kfd", "null", "sda"):
        (dev / node).touch()
    found = gpu_devices(dev)
    assert [p.relative_to(dev).as_posix() for p in found] == [
        "dri/renderD128", "kfd", "nvidia-caps/cap1", "nvidia-uvm", "nvidia0", "nvidiactl"]
    argv = SandboxPolicy((), (), tmp_path, devices=tuple(found)).argv()
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--dev-bind"]
    assert pairs == [str(p) for p in found]
    assert argv[argv.index("/sys") - 1] == "--ro-bind"
    assert "/sys" not in SandboxPolicy((), (), tmp_path).argv()  # no GPU: no /sys either


def test_a_worker_never_sees_the_cache_or_the_frozen_files(tiny_world, tmp_path) -> None:
    policy = worker_policy(tmp_path / "area")
    argv = policy.argv()
    assert "--unshare-all" in argv and "--die-with-parent" in argv and "--clearenv" in argv
    for path in policy.read_only:
        for secret in (tiny_world.cache, tiny_world.root / "tasks", Path.home() / ".cache"):
            assert not path.is_relative_to(secret), (path, secret)  # inside it
            assert not secret.is_relative_to(path), (path, secret)  # or a folder above it
    binds = [argv[i + 2] for i, a in enumerate(argv) if a == "--bind"]
    assert binds == ["/w2s/run"]  # the one writable place


def test_inside_the_sandbox_the_plugin_code_is_found_without_w2s_bench_root(
        tmp_path, monkeypatch) -> None:
    """The README's `w2s-bench run` sets no W2S_BENCH_ROOT; inside the sandbox tasks/ is
    hidden, so the checkout must be named to it (else every baseline's run failed)."""
    import os
    import subprocess
    import sys

    import pytest

    from benchmark.core.bwrap import bwrap_works
    from benchmark.core.paths import baselines_dir

    if bwrap_works() and not os.environ.get("CI"):
        pytest.skip(f"no sandbox here ({bwrap_works()})")
    monkeypatch.delenv("W2S_BENCH_ROOT", raising=False)
    argv = [*worker_policy(tmp_path / "area").argv(), sys.executable, "-c",
            "from benchmark.core.paths import baselines_dir; print(baselines_dir())"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == str(baselines_dir())
