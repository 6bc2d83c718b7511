"""A method's card: the one description of a method that every stage shares.

A baseline's class declares it (:meth:`benchmark.api.method.Method.card`); a submission's
``submission.yaml`` adds who wrote it, its licence and its hyper-parameters; examination in
the sandbox sends an untrusted plugin's card back as data; the harness decides which tasks
a method runs on from it; a run record keeps its public part (``method_info``). Where it came
from (``origin``) is the trust it gets: a baseline is the harness's own reviewed code, a
submission or an installed plugin is examined in the sandbox and never imported here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Origin = Literal["baseline", "submission", "plugin"]
TEXT_MAX = 20_000
MARKS = {"transductive": "test inputs", "extra_data": "extra data",
         "extra_models": "extra models", "gold_for_tuning": "gold for tuning"}


Item = Annotated[str, Field(min_length=1, max_length=300)]


class GoldForTuning(BaseModel):
    """Gold labels a method's options were chosen on, outside the harness (which never
    shows a run gold): which split of which tasks, how many labels, what was chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    split: str = Field(min_length=1, max_length=200)
    n: int = Field(ge=1)
    chose: str = Field(min_length=3, max_length=500)


class Uses(BaseModel):
    """What a method uses beyond the weak labels on B and the task's strong student: what
    makes two methods' numbers comparable. Every field must be stated (no defaults), so a
    card cannot be complete by omission."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # reads the unlabelled test inputs beyond predicting each one on its own (e.g. moves
    # its test predictions to a prior, self-trains on them)
    transductive: bool
    extra_data: list[Item] = Field(max_length=20)     # data beyond the task's splits
    # models beyond the strong student and the task's weak labels (e.g. the ladder's rungs)
    extra_models: list[Item] = Field(max_length=20)
    gold_for_tuning: GoldForTuning | None
    compute: str = Field(min_length=3, max_length=300)  # the budget, in trainings of naive

    def marks(self) -> list[str]:
        """The board's marks: what a reader may want to filter out."""
        used = {"transductive": self.transductive, "extra_data": bool(self.extra_data),
                "extra_models": bool(self.extra_models),
                "gold_for_tuning": self.gold_for_tuning is not None}
        return [key for key in MARKS if used[key]]


class MethodCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    version: str = Field(default="", max_length=200)
    origin: Origin = "plugin"
    # where fit_predict works, and which tasks it needs (the harness skips the others)
    regimes: tuple[str, ...] = ("probe", "finetune")
    binary_only: bool = False        # left out of tasks with more than two classes
    needs_decoder: bool = False      # only where the strong model is a causal LM
    needs_supervisors: bool = False  # only where a task names several weak models
    needs_rungs: bool = False        # gets intermediate models' features
    needs_boosting: bool = False     # gets the boosted supervisors' labels
    control: bool = False            # a reference point (e.g. prompting), not a W2S method
    options: dict[str, JsonValue] = {}   # the options its runs get
    # who made it and where to read about it (the leaderboard shows these)
    summary: str = Field(default="", max_length=TEXT_MAX)
    description: str = Field(default="", max_length=TEXT_MAX)
    authors: list[str] = []
    paper: str | None = Field(default=None, max_length=2000)
    code: str | None = Field(default=None, max_length=2000)
    licence: str | None = Field(default=None, max_length=100)
    uses: Uses | None = None   # None: an installed plugin that declares none

    def as_registered(self, name: str, origin: Origin) -> MethodCard:
        """The card with the name and origin the harness gives it: whatever a plugin's own
        examination says, it is the name it was asked for and the trust its source gets."""
        return self.model_copy(update={"name": name, "origin": origin})

    def record_info(self) -> dict[str, object]:
        """The card's public part, as a run record keeps it (``method_info``)."""
        return {"kind": self.origin, "control": self.control, "summary": self.summary,
                "description": self.description, "authors": list(self.authors),
                "paper": self.paper, "code": self.code, "licence": self.licence,
                "uses": self.uses.model_dump() if self.uses else None}


def plain_options(config: Any) -> dict[str, Any]:
    """Options as JSON data (tuples become lists, anything else JSON cannot hold its text),
    as a card and a run's record hold them."""
    return json.loads(json.dumps(dict(config), default=str))


def clipped(text: str) -> str:
    """A card's text within its limit (a longer module docstring is cut, not refused)."""
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"
