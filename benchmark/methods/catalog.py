"""The method catalog: every method a sweep can run, found once per process.

The classes live in the plugin API's registry (``@register`` adds them there); this module
gives that registry its loader, discovery (:mod:`benchmark.methods.discovery`), and keeps
what discovery found beside the classes: the problems to report and each submission's
metadata. Harness-side code asks here for a method's options, its card and an instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.api.method import METHODS, Method
from benchmark.core.errors import PluginError
from benchmark.core.method_card import MethodCard, plain_options
from benchmark.core.paths import baselines_dir
from benchmark.core.registry import Registry
from benchmark.methods.discovery import Discovery, PluginProblem, discover_methods
from benchmark.methods.examine import card_of
from benchmark.methods.submissions import SubmissionMeta
from benchmark.results.records import MethodInfo

__all__ = ["METHODS", "PluginRef", "baseline_names", "build_method", "method_card",
           "method_config", "method_info", "method_options", "plugin_problems", "plugin_ref",
           "select_methods", "submission_meta"]


@dataclass
class _Found:
    """The last discovery's findings (replaced whenever the registry reloads)."""

    discovery: Discovery = field(default_factory=Discovery)


_FOUND = _Found()


def _load(registry: Registry[type[Method]]) -> None:
    _FOUND.discovery = discover_methods(registry)


METHODS.attach_loader(_load)


def plugin_problems() -> list[PluginProblem]:
    """Every plugin refused or warned about by the current discovery."""
    METHODS.names()
    return list(_FOUND.discovery.problems)


def submission_meta(name: str) -> SubmissionMeta | None:
    METHODS.names()
    return _FOUND.discovery.submissions.get(name)


def method_options(name: str) -> dict[str, Any]:
    """The options a method runs with: its submission's hyper-parameters, a variant's
    options, else its defaults (none given)."""
    meta = submission_meta(name)
    if meta:
        return dict(meta.hyperparameters)
    return dict(getattr(METHODS.get(name), "variant_options", {}))


@dataclass(frozen=True)
class PluginRef:
    """What a worker needs to import one method and nothing else: its name, where its code
    is, and, for a refused plugin, the refusal its runs fail with (nothing is imported)."""

    name: str
    origin: str
    refusal: str | None = None


def plugin_ref(name: str) -> PluginRef:
    """A variant's runs import its base (and get the variant's options)."""
    cls = METHODS.get(name)
    return PluginRef(getattr(cls, "variant_of", name), METHODS.origin(name),
                     getattr(cls, "refusal", None))


def build_method(name: str, config: dict[str, Any] | None = None) -> Method:
    """An instance, in this process: for baselines and trusted code only (a submission
    examined in the sandbox refuses, since this process never imports its code)."""
    return METHODS.get(name)(**(config or {}))


def method_config(name: str) -> dict[str, Any]:
    """The options a method's runs get, with its defaults; raises PluginError for a plugin
    that was refused. Never runs untrusted code here: an examined one's comes as data."""
    cls = METHODS.get(name)
    refusal = getattr(cls, "refusal", None)
    if refusal is not None:
        raise PluginError(refusal)
    card = getattr(cls, "examined_card", None)
    if card is not None:
        return dict(card.options)
    return dict(build_method(name, method_options(name)).config)


def is_baseline(name: str) -> bool:
    return METHODS.origin(name).startswith(str(baselines_dir()))


def baseline_names() -> list[str]:
    """The reference baselines (what ``run`` scores when no method is named)."""
    return [n for n in METHODS.names()
            if is_baseline(n) and not getattr(METHODS.get(n), "variant_of", None)]


def select_methods(requested: list[str] | None) -> list[str]:
    """The named methods (each checked, with suggestions), else every baseline."""
    for name in requested or []:
        METHODS.get(name)
    return list(requested) if requested else baseline_names()


def method_card(name: str) -> MethodCard:
    """The method's one card: an examined plugin's as the sandbox sent it, else its class's,
    with a submission's ``submission.yaml`` (who wrote it, its description, links, licence
    and hyper-parameters) over it."""
    cls = METHODS.get(name)
    card = getattr(cls, "examined_card", None)
    if card is None:   # the harness's own class, or code the user trusts, imported here
        card = card_of(cls, name, "baseline" if is_baseline(name) else "plugin")
    meta = submission_meta(name)
    if meta is None:
        return card
    description = meta.description.strip()
    options = card.options if getattr(cls, "refusal", None) else method_config(name)
    return card.model_copy(update={
        "origin": "submission", "summary": description.splitlines()[0],
        "description": description, "authors": list(meta.authors), "paper": meta.paper,
        "code": meta.code, "licence": meta.licence, "options": plain_options(options),
        "uses": meta.uses})


def method_info(name: str) -> MethodInfo:
    """What the leaderboard shows about a method: its card's public part."""
    return MethodInfo(**method_card(name).record_info())
