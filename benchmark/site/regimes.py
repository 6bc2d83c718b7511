"""Do the two regimes rank methods alike? The rank correlation between a finetune suite's
board and its probe counterpart (``mini-finetune`` ↔ ``mini``: the name without
``-finetune``), over the methods both rank, on the tasks whose (dataset, weak, strong) pair
both suites hold (so the task set is not confounded with the regime). The interval
resamples each suite's replicates within its tasks on its own (a method's units pair across
methods); tasks stay fixed, so with one task per side it is an interval over replicates of
that task only. Draws where a ranking is constant count as undefined and are reported."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.site.standings import SuiteBoard, ranked_methods

DRAWS = 2000


@dataclass(frozen=True)
class RegimeAgreement:
    finetune_suite: str
    probe_suite: str
    methods: tuple[str, ...]
    spearman: float
    low: float
    high: float
    draws: int
    undefined: int                 # draws where a ranking had no spread
    tasks: tuple[str, ...]         # the finetune suite's matched tasks


def _pair(task) -> tuple[str, str, str]:
    return (task.dataset, task.weak_model, task.strong_model)


def _pgr_table(board: SuiteBoard, methods: list[str], pairs: set) -> list[np.ndarray]:
    """Per matched task: [methods, replicates] PGRs (NaN where a replicate has none)."""
    tables = []
    for task in (t for t in board.tasks if _pair(t) in pairs):
        by_method = {r.method: dict(zip(r.replicates, r.pgrs, strict=True))
                     for r in task.results}
        replicates = sorted({k for r in task.results for k in r.replicates})
        tables.append(np.array([[np.nan if by_method.get(m, {}).get(k) is None
                                 else by_method[m][k] for k in replicates] for m in methods],
                               dtype=float))
    return tables


def _means(tables: list[np.ndarray], picks: list[np.ndarray] | None = None) -> np.ndarray:
    """Each method's mean over tasks of its mean over (the picked) replicates."""
    per_task = [np.nanmean(t if picks is None else t[:, p], axis=1)
                for t, p in zip(tables, picks or [None] * len(tables), strict=True)]
    return np.nanmean(np.stack(per_task), axis=0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def regime_agreement(boards: list[SuiteBoard], seed: int = 0) -> list[RegimeAgreement]:
    by_name = {b.suite: b for b in boards}
    out = []
    for board in boards:
        probe = by_name.get(board.suite.removesuffix("-finetune"))
        if not board.suite.endswith("-finetune") or probe is None:
            continue
        ranked = {e.method for e in ranked_methods(probe) if e.pgr is not None}
        methods = sorted(e.method for e in ranked_methods(board) if e.pgr is not None
                         and e.method in ranked)
        pairs = {_pair(t) for t in board.tasks} & {_pair(t) for t in probe.tasks}
        if len(methods) < 3 or not pairs:
            continue
        tables = [_pgr_table(board, methods, pairs), _pgr_table(probe, methods, pairs)]
        rho = spearman(_means(tables[0]), _means(tables[1]))
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(DRAWS):
            resampled = [_means(t, [rng.integers(0, x.shape[1], x.shape[1]) for x in t])
                         for t in tables]
            draws.append(spearman(*resampled))
        low, high = np.nanpercentile(draws, [2.5, 97.5])
        out.append(RegimeAgreement(board.suite, probe.suite, tuple(methods), rho,
                                   float(low), float(high), DRAWS,
                                   int(np.isnan(draws).sum()),
                                   tuple(t.task for t in board.tasks if _pair(t) in pairs)))
    return out
