"""Training curves of a run: per epoch of each shared-trainer fit, the training loss and the
student's agreement with the weak labels on split B (when it starts to imitate its
supervisor).

A per-process recorder, reset before each run with the compute meter. The shared probe
trainer adds a point after every epoch; the worker sends the curves back in its report, and
the record keeps them (:class:`benchmark.results.records.TrainingCurve`). Like compute, a
curve is the run's own word (it is measured inside the sandbox): the board plots it and
never ranks by it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

MAX_FITS = 8      # fits a run records (a method that trains more keeps its last eight)
MAX_EPOCHS = 100  # points per fit
MAX_LOSS = 1e4    # a cross-entropy past it is recorded as it (a diverged fit)


# what a curve's loss is: the shared probe's mean cross-entropy to its training targets over
# every row, read after each epoch; or a finetune's own training loss, averaged over the
# epoch's steps as it trained
LOSS_KINDS = ("cross-entropy to targets", "training loss")


@dataclass
class FitCurve:
    loss: list[float] = field(default_factory=list)
    weak_agreement: list[float | None] = field(default_factory=list)
    loss_of: str = LOSS_KINDS[0]

    def add(self, loss: float, weak_agreement: float | None) -> None:
        if len(self.loss) < MAX_EPOCHS:
            loss = float(loss)   # a diverged fit (inf, nan) reads as the cap
            self.loss.append(round(min(loss, MAX_LOSS) if math.isfinite(loss) else MAX_LOSS,
                                   6))
            self.weak_agreement.append(
                None if weak_agreement is None else round(float(weak_agreement), 6))


CURVES: list[FitCurve] = []


def reset() -> None:
    CURVES.clear()


def start_fit(loss_of: str = LOSS_KINDS[0]) -> FitCurve:
    """A new fit's curve; past :data:`MAX_FITS` the oldest is dropped, so the last fit (the
    student, for the shared trainers) is always kept."""
    CURVES.append(FitCurve(loss_of=loss_of))
    del CURVES[:-MAX_FITS]
    return CURVES[-1]


def snapshot() -> list[dict[str, list]]:
    """The run's curves as data (fits with at least one epoch)."""
    return [asdict(c) for c in CURVES if c.loss]
