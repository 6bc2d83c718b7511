"""The library entry point: :func:`evaluate` runs methods on a suite and returns the records,
through what ``w2s-bench run`` uses; the command line is a thin layer over it."""

from benchmark.library.sweeps import (
    DEFAULT_SUITE,
    FINETUNE_SUITE,
    SweepPlan,
    evaluate,
    plan_sweep,
    prepare_sweep,
    sweep_assets,
)

__all__ = ["DEFAULT_SUITE", "FINETUNE_SUITE", "SweepPlan", "evaluate", "plan_sweep",
           "prepare_sweep", "sweep_assets"]
