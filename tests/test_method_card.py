"""One method card: a baseline's class, a submission examined in the sandbox (with its
submission.yaml over it), the harness's choice of tasks and the run record all read the same
card."""

from __future__ import annotations

import pytest

from benchmark.api.method import Method
from benchmark.core.method_card import TEXT_MAX, MethodCard, clipped
from benchmark.methods.catalog import METHODS, method_card, method_config, method_info
from benchmark.methods.discovery import registered_card
from benchmark.methods.examine import Examined, Wanted, card_of, describe
from benchmark.results.records import MethodInfo
from tests.test_plugins import HEADER


def test_a_baselines_card_is_what_its_class_declares(tiny_world) -> None:
    cls = METHODS.get("ensemw2s-crossfit")
    card = method_card("ensemw2s-crossfit")
    assert card.origin == "baseline" and card.name == "ensemw2s-crossfit"
    assert card.needs_boosting and not card.needs_rungs and card.version == str(cls.version)
    assert card.options == cls.defaults and card.paper == cls.paper
    # the record keeps the card's public part: a worked example
    info = method_info("naive")
    assert (info.kind, info.summary, info.control, info.authors, info.licence) == (
        "baseline", "Cross-entropy on weak soft labels (the W2S paper's baseline).", False,
        [], None)
    assert method_card("fewshot-prompt").control and method_info("fewshot-prompt").control


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
    """What the sandbox sends back is parsed as a card: unknown keys and huge text refused,
    and an answer holds a card or a problem, never neither."""
    with pytest.raises(ValueError, match="extra"):
        MethodCard.model_validate({"name": "x", "exec": "import os"})
    with pytest.raises(ValueError, match="at most"):
        MethodCard(name="x", summary="a" * 30_000)
    with pytest.raises(ValueError):
        MethodCard(name="x", options={"f": object()})
    for forged in ({"name": "x"}, {"name": "x", "card": {"name": "x"}, "problem": "p"}):
        with pytest.raises(ValueError, match="a card or a problem"):
            Examined.model_validate(forged)


def test_a_plugin_cannot_name_itself_or_claim_to_be_a_baseline() -> None:
    """The harness registers an examined card under the name it asked for and the origin
    its source gets, whatever the plugin's own answer says."""
    forged = Examined(name="evil", card=MethodCard(name="naive", origin="baseline"))
    for kind, origin in (("entry_point", "plugin"), ("submission", "submission")):
        card = registered_card(Wanted(name="evil", kind=kind, path="/x"), forged)
        assert (card.name, card.origin) == ("evil", origin)


def test_a_class_whatever_it_declares_gives_a_card_or_a_problem() -> None:
    """Tuples in its defaults become lists (as in its record), a long module docstring is
    cut, and declarations that make no card are a problem, never a crash of discovery."""
    class Wide(Method):
        """Wide (tests)."""
        defaults = {"layers": (1, 2)}

    Wide.__module__ = "tests.test_method_card"
    card = card_of(Wide, "wide", "plugin")
    assert card.options == {"layers": [1, 2]} and card.summary == "Wide (tests)."

    class Odd(Method):
        regimes = None   # type: ignore[assignment]

    assert describe(Odd, "odd", {}, "plugin").problem.startswith("its declarations")
    assert len(clipped("x" * 50_000)) == TEXT_MAX


def test_a_named_variant_runs_its_base_with_its_options_under_its_own_name(tiny_world) -> None:
    """``baselines/variants.yaml``: the variant's card says it is one, its runs import the
    base and get the variant's options, a sweep of every baseline leaves it out; a variant
    of a non-baseline or with an option its base lacks is refused when the catalog loads."""
    from benchmark.core.errors import SpecError
    from benchmark.methods.catalog import baseline_names, method_options, plugin_ref

    name = "logconf-openai-schedule"
    assert method_config(name)["schedule"] == "openai" == method_options(name)["schedule"]
    assert method_config("logconf")["schedule"] == "paper"
    assert plugin_ref(name).name == "logconf" and name not in baseline_names()
    assert "logconf" in baseline_names()
    info = method_info(name)
    assert info.kind == "baseline" and info.summary.startswith("A variant of logconf")
    path = tiny_world.root / "baselines" / "variants.yaml"
    kept = path.read_text()
    try:
        for body, says in (("base: logconf\n  options: {shedule: openai}", "no option 'shedule'"),
                           ("base: fresh-idea\n  options: {a: 1}", "not a reference baseline"),
                           (f"base: {name}\n  options: {{alpha_max: 1}}", "never a variant")):
            path.write_text(kept + f"bad-variant:\n  {body}\n  summary: a variant refused\n")
            METHODS.reset()
            with pytest.raises(SpecError, match=says):
                METHODS.names()
    finally:
        path.write_text(kept)
        METHODS.reset()
    # a submission taking a variant's name is refused as any name clash; the rest loads
    tiny_world.add_submission(name, HEADER + f'@register("{name}")\nclass N(Method):\n'
                              '    pass\n')
    from benchmark.methods.catalog import plugin_problems

    METHODS.reset()
    assert METHODS.origin(name).endswith("baselines/logconf.py")
    assert any(p.name == name for p in plugin_problems())
