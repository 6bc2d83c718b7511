"""One method card: a baseline's class, a submission examined in the sandbox (with its
submission.yaml over it), the harness's choice of tasks and the run record all read the same
card."""

from __future__ import annotations

import pytest

from benchmark.core.method_card import MethodCard
from benchmark.methods.catalog import METHODS, method_card, method_config, method_info
from benchmark.results.records import MethodInfo
from tests.test_plugins import HEADER


def test_a_baselines_card_is_what_its_class_declares(tiny_world) -> None:
    cls = METHODS.get("ensemw2s-crossfit")
    card = method_card("ensemw2s-crossfit")
    assert card.origin == "baseline" and card.name == "ensemw2s-crossfit"
    assert card.needs_boosting and not card.needs_rungs and card.version == str(cls.version)
    assert card.options == cls.defaults and card.paper == cls.paper
    assert card.summary and "\n" not in card.summary
    # the record keeps the card's public part, nothing else
    assert method_info("ensemw2s-crossfit") == MethodInfo(**card.record_info())
    assert method_card("fewshot-prompt").control and not method_card("naive").control


SOURCE = HEADER + '''
@register("carded")
class Carded(Method):
    """Predicts a constant its option sets (tests)."""
    version = "4"
    defaults = {"p1": 0.5, "unused": 1}
    binary_only = True
    needs_rungs = True
    paper = "https://example.org/paper"
    def fit_predict(self, inp):
        return np.tile([1 - self.config["p1"], self.config["p1"]], (len(inp.test_ids), 1))
'''


def test_a_submissions_card_joins_its_class_and_its_yaml(tiny_world) -> None:
    tiny_world.add_submission("carded", SOURCE, {
        "version": "4", "hyperparameters": {"p1": 0.8}, "authors": ["Ada", "Grace"],
        "description": "A constant.\n\nLonger text.", "code": "https://example.org/code"})
    card = method_card("carded")
    assert card.origin == "submission" and card.version == "4"
    # what only the class says, examined (in the sandbox where there is one) as data
    assert card.binary_only and card.needs_rungs and not card.needs_boosting
    # what only the yaml says, and the options its runs get: defaults under its own
    assert (card.authors, card.licence, card.code) == (["Ada", "Grace"], "MIT",
                                                        "https://example.org/code")
    assert card.summary == "A constant." and card.description == "A constant.\n\nLonger text."
    assert card.options == {"p1": 0.8, "unused": 1} == method_config("carded")
    # the harness decides from the same card: a needs_rungs method without rungs is skipped
    assert METHODS.get("carded").needs_rungs
    info = method_info("carded")
    assert info == MethodInfo(**card.record_info()) and info.kind == "submission"


def test_a_card_is_strict_data() -> None:
    """What the sandbox sends back is parsed as a card: unknown keys and huge text refused."""
    with pytest.raises(ValueError, match="extra"):
        MethodCard.model_validate({"name": "x", "exec": "import os"})
    with pytest.raises(ValueError, match="at most"):
        MethodCard(name="x", summary="a" * 30_000)
    with pytest.raises(ValueError):
        MethodCard(name="x", options={"f": object()})
