"""The diagnostics of runs (agreement, misfit and gain, knowledge regions) summarised for
the site: per (task, method) over replicates, per method over tasks.

The numbers come from the records (computed harness-side from the stored predictions, see
:mod:`benchmark.core.diagnostics`); here they are only averaged. Records written before
predictions were kept have none, and summaries skip them.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.results.records import Diagnostics

SCALARS = ("agreement", "capa", "fixed", "copied", "kept", "misfit", "gain", "deception_error",
           "deception_share", "misfit_kl", "gain_kl")
REGIONS = ("sk_wk", "sk_wu", "su_wk", "su_wu")
REGION_NAMES = {"sk_wk": "strong-known ∩ weak-known", "sk_wu": "strong-known ∩ weak-unknown",
                "su_wk": "strong-unknown ∩ weak-known",
                "su_wu": "strong-unknown ∩ weak-unknown"}


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True)
class DiagnosticSummary:
    """Means of the diagnostics over ``runs`` runs; region (share, student accuracy) pairs
    where the runs' tasks froze ceiling predictions."""

    runs: int
    means: dict[str, float | None]
    regions: dict[str, tuple[float | None, float | None]] | None

    def __getattr__(self, name: str) -> float | None:  # t.agreement in templates
        try:
            return self.__dict__["means"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def gain_exceeds_misfit(self) -> bool | None:
        gain, misfit = self.means.get("gain"), self.means.get("misfit")
        return None if gain is None or misfit is None else gain >= misfit


def summarize(diagnostics: list[Diagnostics | None]) -> DiagnosticSummary | None:
    present = [d for d in diagnostics if d is not None]
    if not present:
        return None
    means = {name: _mean([getattr(d, name) for d in present]) for name in SCALARS}
    with_regions = [d.regions for d in present if d.regions]
    regions = {name: (_mean([r[name].share for r in with_regions]),
                      _mean([r[name].student_accuracy for r in with_regions]))
               for name in REGIONS} if with_regions else None
    return DiagnosticSummary(len(present), means, regions)


def over_tasks(summaries: list[DiagnosticSummary | None]) -> DiagnosticSummary | None:
    """The mean of per-task summaries: each task counts equally, as in the suite's score."""
    present = [s for s in summaries if s is not None]
    if not present:
        return None
    means = {name: _mean([s.means[name] for s in present]) for name in SCALARS}
    with_regions = [s.regions for s in present if s.regions]
    regions = {name: (_mean([r[name][0] for r in with_regions]),
                      _mean([r[name][1] for r in with_regions]))
               for name in REGIONS} if with_regions else None
    return DiagnosticSummary(sum(s.runs for s in present), means, regions)
