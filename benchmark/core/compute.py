"""Compute accounting for a run: FLOPs counted by the shared trainers, plus time and memory.

A per-process meter is reset before each run in a worker; the shared training helpers add to
it, and a method that trains something of its own can call :func:`add_train` /
:func:`add_inference` itself.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass, field


@dataclass
class ComputeMeter:
    train_flops: float = 0.0
    infer_flops: float = 0.0
    examples_seen: int = 0
    trained_params: int = 0

    def reset(self) -> None:
        self.train_flops = self.infer_flops = 0.0
        self.examples_seen = self.trained_params = 0


METER = ComputeMeter()


def add_train(flops: float, examples: int, params: int) -> None:
    METER.train_flops += flops
    METER.examples_seen += examples
    METER.trained_params = max(METER.trained_params, params)


def add_inference(flops: float) -> None:
    METER.infer_flops += flops


def reset_peak_rss() -> bool:
    """Start this process's peak resident memory again from what it holds now (Linux
    ``clear_refs``), so that a process running several runs reports each one's own peak.
    False where the kernel refuses (then the peak is the process's since it started)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """Peak resident memory of this process since it started or since :func:`reset_peak_rss`
    (VmHWM on Linux; ru_maxrss, KiB on Linux and bytes on macOS, elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


@dataclass
class Stopwatch:
    """Wall and CPU seconds of a block of work."""

    wall_start: float = field(default_factory=time.perf_counter)
    cpu_start: float = field(default_factory=time.process_time)

    def elapsed(self) -> dict[str, float]:
        return {"wall_s": time.perf_counter() - self.wall_start,
                "cpu_s": time.process_time() - self.cpu_start}


def meter_snapshot() -> dict[str, float]:
    return asdict(METER)
