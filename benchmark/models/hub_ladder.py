"""The paper-scale ladder: hub causal LMs (gpt2…xl, Qwen, Qwen2.5, Pythia) as finetune rungs.

Each rung is declared once in ``hub_ladder.yaml`` with its hub id, size and the original's
per-model recipe (learning rate, eval batch size, gradient checkpointing), and registered
twice over: as a hub :class:`EncoderSource` (so the harness and trainer load it like any
checkpoint) and as a :class:`ModelSpec` a task can name. The revision comes from the ladder
when a public source confirms it, else from ``benchmark/hub_pins.yaml`` (``w2s-bench pin``);
an unpinned rung is listed but refuses to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from benchmark.assets.hub_pins import pinned_revision
from benchmark.core.registry import Registry
from benchmark.core.schema import validate
from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, ModelSpec

LADDER_FILE = Path(__file__).with_name("hub_ladder.yaml")


class LadderRung(BaseModel):
    """One hub LM and the recipe the original trained it with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    family: str
    hub_id: str
    params: PositiveInt
    layers: PositiveInt
    hidden: PositiveInt
    lr: float = Field(gt=0, le=1)
    eval_batch_size: PositiveInt
    batch_size: PositiveInt = 32
    max_ctx: PositiveInt = 1024
    gradient_checkpointing: bool = False
    trust_remote_code: bool = False
    revision: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    revision_source: str | None = None
    recipe_source: str
    description: str

    @property
    def pinned(self) -> bool:
        return self.revision is not None


LADDER: Registry[LadderRung] = Registry("ladder rung")


def read_ladder(path: Path = LADDER_FILE) -> list[LadderRung]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    families: dict[str, dict[str, Any]] = raw["families"]
    rungs = []
    for name, body in raw["rungs"].items():
        family = families[body["family"]]
        merged = {**raw.get("defaults", {}), "name": name,
                  "recipe_source": family["recipe_source"],
                  "trust_remote_code": family.get("trust_remote_code", False),
                  "description": f"{name}: {family['description']}", **body}
        if merged.get("revision") is None:
            pin = pinned_revision("models", name, merged["hub_id"])
            if pin:
                merged.update(revision=pin, revision_source="benchmark/hub_pins.yaml")
        rungs.append(validate(LadderRung, merged, f"{path} (rung {name!r})"))
    return rungs


def register_rung(rung: LadderRung) -> None:
    """Make ``rung`` loadable (an encoder source) and nameable in tasks (a model)."""
    ENCODERS.add(rung.name, EncoderSource(
        name=rung.name, format="hub", hub_id=rung.hub_id, revision=rung.revision,
        num_layers=rung.layers, hidden_size=rung.hidden, max_length=rung.max_ctx),
        origin=__name__)
    MODELS.add(rung.name, ModelSpec(name=rung.name, family=rung.family, kind="encoder",
                                    encoder=rung.name, params=rung.params, tier="paper",
                                    description=rung.description), origin=__name__)
    LADDER.add(rung.name, rung, origin=__name__)


def unregister_rung(name: str) -> None:
    for registry in (ENCODERS, MODELS, LADDER):
        registry.remove(name)


def rung_of(model: str) -> LadderRung | None:
    """The ladder rung behind a task's model name (None for the embedded encoders)."""
    return LADDER.get(model) if model in LADDER else None


for _rung in read_ladder():
    register_rung(_rung)


def is_decoder(model: str) -> bool:
    """Whether a model is a causal LM (it can be prompted): the embedded decoder rungs and
    every rung of the paper's hub ladder."""
    spec = MODELS.get(model)
    if spec.kind != "encoder":
        return False
    return ENCODERS.get(spec.encoder or "").decoder or rung_of(model) is not None
