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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Origin = Literal["baseline", "submission", "plugin"]
TEXT_MAX = 20_000


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

    def as_registered(self, name: str, origin: Origin) -> MethodCard:
        """The card with the name and origin the harness gives it: whatever a plugin's own
        examination says, it is the name it was asked for and the trust its source gets."""
        return self.model_copy(update={"name": name, "origin": origin})

    def record_info(self) -> dict[str, object]:
        """The card's public part, as a run record keeps it (``method_info``)."""
        return {"kind": self.origin, "control": self.control, "summary": self.summary,
                "description": self.description, "authors": list(self.authors),
                "paper": self.paper, "code": self.code, "licence": self.licence}


def plain_options(config: Any) -> dict[str, Any]:
    """Options as JSON data (tuples become lists, anything else JSON cannot hold its text),
    as a card and a run's record hold them."""
    return json.loads(json.dumps(dict(config), default=str))


def clipped(text: str) -> str:
    """A card's text within its limit (a longer module docstring is cut, not refused)."""
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"
