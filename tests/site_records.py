"""Hand-made run records for the leaderboard tests and the build benchmark."""

from __future__ import annotations

import hashlib

from benchmark.results.records import (
    Compute,
    Diagnostics,
    MethodInfo,
    Metrics,
    Provenance,
    Region,
    RunError,
    RunRecord,
)

WEAK, CEILING = 0.6, 0.8


def make_record(task: str, method: str, replicate: int, pgr: float | None, *, suite: str = "s",
                ok: bool = True, task_version: int = 1, weak_sha: str | None = None,
                flops: float = 100.0, wall_s: float = 0.5, dataset: str = "d",
                strong_params: int = 22_000_000, info: MethodInfo | None = None,
                version: str = "1", diagnostics: Diagnostics | None = None,
                split: str | None = "own") -> RunRecord:
    """A record whose accuracy is exactly what ``pgr`` implies for weak .6 / ceiling .8.

    ``split``: the name of its split draw ("own": one of its own for each (task, replicate);
    None: none recorded, as in records written before they kept it)."""
    if split == "own":
        split = f"{dataset}/{task}/{replicate}"
    provenance = Provenance(
        task_version=task_version, dataset=dataset, task_sha256="t",
        weak_labels_sha256=weak_sha or f"{task}-v{task_version}-r{replicate}",
        references_sha256="r", weak_model="weak", strong_model="strong",
        method_version=version, method_config={}, method_origin="x", packages={},
        git_commit="c", hardware={},
        split_sha256=None if split is None else hashlib.sha256(split.encode()).hexdigest())
    common = dict(suite=suite, task=task, method=method, replicate=replicate, seed=replicate,
                  provenance=provenance, method_info=info)
    if not ok:
        return RunRecord(status="failed", error=RunError(type="ValueError", message="nope"),
                         **common)
    accuracy = WEAK + (pgr or 0.0) * (CEILING - WEAK)
    return RunRecord(
        status="ok", metrics=Metrics(accuracy=accuracy, pgr=pgr, weak_accuracy=WEAK,
                                     ceiling_accuracy=CEILING),
        compute=Compute(train_flops=flops, infer_flops=1.0, examples_seen=10, trained_params=2,
                        strong_model_params=strong_params, wall_s=wall_s, cpu_s=wall_s,
                        peak_rss_mb=10.0), diagnostics=diagnostics, **common)


def make_diagnostics(rng, pgr: float) -> Diagnostics:
    """Plausible diagnostics for a run of this PGR (consistent enough for the plots)."""
    fixed = float(min(max(0.15 + 0.3 * pgr + rng.normal(0, 0.05), 0.0), 1.0))
    kept = float(min(max(0.9 + rng.normal(0, 0.03), 0.0), 1.0))
    weak_error = 0.5
    gain = float(0.05 * pgr + rng.normal(0, 0.01))
    shares = rng.dirichlet([6.0, 2.0, 1.0, 1.0])
    regions = {name: Region(share=float(share), student_accuracy=float(rng.uniform(0.3, 0.9)))
               for name, share in zip(("sk_wk", "sk_wu", "su_wk", "su_wu"), shares,
                                      strict=True)}
    return Diagnostics(agreement=0.6 * kept + 0.4 * (1 - fixed), fixed=fixed, copied=1 - fixed,
                       kept=kept, misfit=float(abs(rng.normal(0.12, 0.03))),
                       weak_error=weak_error, student_error=weak_error - gain, gain=gain,
                       regions=regions, deception_error=float(rng.uniform(0.2, 0.5)),
                       deception_share=float(rng.uniform(0.2, 0.6)))


def synthetic_records(methods: int, suites: dict[str, int], replicates: int,
                      seed: int = 0) -> list[RunRecord]:
    """A leaderboard-shaped corpus: every method on every task of every suite."""
    import numpy as np

    rng = np.random.default_rng(seed)
    skill = rng.normal(0.3, 0.2, methods)
    out = []
    for suite, tasks in suites.items():
        for t in range(tasks):
            dataset = f"dataset-{t % 3}"
            params = (22_000_000, 110_000_000)[t % 2]
            for m in range(methods):
                name = "naive" if m == 0 else f"method-{m:03d}"
                info = MethodInfo(kind="submission", summary=f"method number {m}",
                                  authors=["A. Person"], paper="https://example.org/paper")
                for k in range(replicates):
                    pgr = float(np.clip(skill[m] + rng.normal(0, 0.15), -2, 2))
                    out.append(make_record(f"task-{t:02d}", name, k, pgr, suite=suite,
                                           dataset=dataset, strong_params=params,
                                           flops=100.0 * (1 + m % 4), info=info,
                                           diagnostics=make_diagnostics(rng, pgr)))
    return out
