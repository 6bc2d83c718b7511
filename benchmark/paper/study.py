"""``w2s-bench reproduce burns2023``: the openai ladder on the five datasets, compared with the
published numbers (kept, with their source, in ``benchmark/reproductions/burns2023.yaml``).

The plan: per dataset, one ground-truth run per rung (trained on gold half 1, predicting half
2: its soft predictions are that rung's weak labels) and one transfer run per (weak < strong)
pair and loss. Compute is estimated as 6·N·tokens at a stated achieved throughput (our H100
measurement, see docs/paper-scale.md), and a run is *cached* when its record exists under
``RESULTS/burns2023/``. The comparison table reads those records: ground-truth accuracy per
rung and median PGR per loss, beside the published value, with the delta and pass/fail
against the file's tolerance.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark.core.errors import UnknownNameError
from benchmark.paper.records import ReproRecord, read_repro_record

DATA = Path(__file__).parent / "reproductions"
ACHIEVED_FLOPS = 1.0e14  # FLOP/s a run sustains on one H100 (gpt2-medium measured 1.16e14)


@dataclass(frozen=True)
class PlannedRun:
    dataset: str
    kind: str          # "ground-truth" or "transfer"
    strong: str
    weak: str | None
    loss: str
    seed: int
    flops: float

    @property
    def key(self) -> str:
        weak = f"{self.weak}-to-" if self.weak else ""
        return f"{self.dataset}/{self.kind}/{weak}{self.strong}/{self.loss}/seed{self.seed}"


def load_study(name: str) -> dict[str, Any]:
    path = DATA / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in DATA.glob("*.yaml"))
        raise UnknownNameError(f"unknown reproduction {name!r}; known: {', '.join(known)}")
    return yaml.safe_load(path.read_text())


def plan(study: dict[str, Any], models: list[str] | None = None,
         datasets: list[str] | None = None) -> list[PlannedRun]:
    """Every run of the study (or of a subset of its rungs and datasets), smallest first:
    per dataset the ground-truth runs, then the transfer runs of each weak < strong pair."""
    from benchmark.models.hub_ladder import LADDER

    recipe, ladder = study["recipe"], list(study["ladder"])
    for name, chosen, known in (("model", models, ladder), ("dataset", datasets,
                                                            list(study["datasets"]))):
        for item in chosen or []:
            if item not in known:
                raise UnknownNameError(f"{name} {item!r} is not in this study; it has "
                                       + ", ".join(known))
    ladder = [r for r in ladder if not models or r in models]
    runs = []
    for dataset, tokens in study["datasets"].items():
        if datasets and dataset not in datasets:
            continue
        per_run_tokens = (recipe["n_docs"] // 2) * recipe["epochs"] * tokens
        for seed in recipe["seeds"]:
            for rung in ladder:
                params = LADDER.get(rung).params
                runs.append(PlannedRun(dataset, "ground-truth", rung, None, "xent", seed,
                                       6.0 * params * per_run_tokens))
            for weak, strong in itertools.combinations(ladder, 2):
                params = LADDER.get(strong).params
                runs += [PlannedRun(dataset, "transfer", strong, weak, loss, seed,
                                    6.0 * params * per_run_tokens)
                         for loss in recipe["losses"]]
    return runs


def record_path(results: Path, run: PlannedRun, tag: str = "burns2023") -> Path:
    """Where a run's record lives; ``tag`` names the recipe variant (see ``study_tag``)."""
    return results / tag / f"{run.key.replace('/', '__')}.json"


def render_dry_run(study: dict[str, Any], runs: list[PlannedRun], results: Path,
                   tag: str = "burns2023") -> str:
    cached = {r.key for r in runs if record_path(results, r, tag).is_file()}
    lines = [f"reproduce burns2023: {len(runs)} runs ({len(cached)} cached in "
             f"{results / tag}); GPU-hours estimated as 6·N·tokens at "
             f"{ACHIEVED_FLOPS / 1e12:.0f} TFLOP/s on one H100", ""]
    lines.append(f"{'dataset':<16} {'ground-truth':>12} {'transfer':>9} {'cached':>7} "
                 f"{'GPU-hours':>10}")
    total = 0.0
    for dataset in dict.fromkeys(r.dataset for r in runs):
        mine = [r for r in runs if r.dataset == dataset]
        hours = sum(r.flops for r in mine) / ACHIEVED_FLOPS / 3600
        total += hours
        lines.append(f"{dataset:<16} {sum(r.kind == 'ground-truth' for r in mine):>12} "
                     f"{sum(r.kind == 'transfer' for r in mine):>9} "
                     f"{sum(r.key in cached for r in mine):>7} {hours:>10.1f}")
    lines.append(f"{'total':<16} {'':>12} {'':>9} {len(cached):>7} {total:>10.1f}")
    lines += ["", f"runs (the first 10 of {len(runs)}):"]
    lines += [f"  {'cached ' if r.key in cached else 'to run '} {r.key}  "
              f"{r.flops / ACHIEVED_FLOPS / 3600:.3f} GPU-h" for r in runs[:10]]
    return "\n".join(lines)


def _read(results: Path, run: PlannedRun, tag: str) -> ReproRecord | None:
    path = record_path(results, run, tag)
    return read_repro_record(path) if path.is_file() else None


def compare(study: dict[str, Any], runs: list[PlannedRun], results: Path,
            tag: str = "burns2023") -> list[dict[str, Any]]:
    """Rows of (quantity, published, ours, delta, pass) from the records present. A rung's
    accuracy is the mean over the seeds recorded; a transfer run's PGR uses the weak and
    strong ground-truth runs of its own seed."""
    rows = []
    tol = study["tolerance"]
    ladder = list(study["ladder"])
    gt = {(r.dataset, r.strong, r.seed): _read(results, r, tag) for r in runs
          if r.kind == "ground-truth"}
    planned = {(r.dataset, r.strong) for r in runs if r.kind == "ground-truth"}
    for dataset, published in study["ground_truth_accuracy"].items():
        for rung, value in zip(ladder, published, strict=True):
            if (dataset, rung) not in planned:
                continue
            seen = [record.accuracy for (d, s, _), record in gt.items()
                    if d == dataset and s == rung and record is not None]
            ours = statistics.fmean(seen) if seen else None
            rows.append(_row(f"{dataset} accuracy {rung}", value, ours, tol["accuracy"]))
    for dataset, per_loss in study["median_pgr"].items():
        if not any(r.dataset == dataset for r in runs):
            continue
        for loss, value in per_loss.items():
            pgrs = []
            for r in runs:
                if r.dataset != dataset or r.kind != "transfer" or r.loss != loss:
                    continue
                record, weak, strong = (_read(results, r, tag),
                                        gt.get((dataset, r.weak, r.seed)),
                                        gt.get((dataset, r.strong, r.seed)))
                if record and weak and strong and strong.accuracy > weak.accuracy:
                    pgrs.append((record.accuracy - weak.accuracy)
                                / (strong.accuracy - weak.accuracy))
            ours = statistics.median(pgrs) if pgrs else None
            rows.append(_row(f"{dataset} median PGR {loss}", value, ours, tol["pgr"]))
    return rows


def _row(name: str, published: float, ours: float | None, tolerance: float) -> dict[str, Any]:
    delta = None if ours is None else ours - published
    verdict = "missing" if delta is None else ("pass" if abs(delta) <= tolerance else "FAIL")
    return {"quantity": name, "published": published, "ours": ours, "delta": delta,
            "tolerance": tolerance, "result": verdict}


def render_table(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:+.3f}" if x < 0 else f"{x:.3f}"

    return tabulate([[r["quantity"], fmt(r["published"]), fmt(r["ours"]),
                      "—" if r["delta"] is None else f"{r['delta']:+.3f}",
                      f"±{r['tolerance']}", r["result"]] for r in rows],
                    headers=["quantity", "published", "ours", "delta", "tolerance", "result"])
