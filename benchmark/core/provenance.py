"""Facts about the software and machine that produced a number, for records and locks."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib import metadata

from benchmark import __version__
from benchmark.core.paths import repo_root

TRACKED_PACKAGES = ("torch", "transformers", "numpy", "scikit-learn", "scipy", "tokenizers",
                    "pydantic")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"w2s-bench": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD of the repository, with ``+dirty`` when tracked files differ from it."""
    root = repo_root()
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; else what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@lru_cache(maxsize=1)
def hardware() -> dict[str, str | int]:
    import torch

    return {"machine": platform.machine(), "processor": platform.processor() or "unknown",
            "cpu_model": cpu_model(),
            "system": platform.system(), "python": platform.python_version(),
            "cpu_count": os.cpu_count() or 0, "torch_threads": torch.get_num_threads(),
            "device": "cpu"}
