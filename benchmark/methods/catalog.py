"""The method catalog: every method a sweep can run, found once per process.

The classes live in the plugin API's registry (``@register`` adds them there); this module
gives that registry its loader, discovery (:mod:`benchmark.methods.discovery`), and keeps
what discovery found beside the classes: the problems to report and each submission's
metadata. Harness-side code asks here for a method's options, its card and an instance.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any

from benchmark.api.method import METHODS, Method
from benchmark.core.errors import PluginError
from benchmark.core.paths import baselines_dir
from benchmark.core.registry import Registry
from benchmark.methods.discovery import Discovery, PluginProblem, discover_methods
from benchmark.methods.submissions import SubmissionMeta
from benchmark.results.records import MethodInfo

__all__ = ["METHODS", "PluginRef", "baseline_names", "build_method", "method_config",
           "method_info", "method_options", "plugin_problems", "plugin_ref", "select_methods",
           "submission_meta"]


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
    """The options a method runs with: its submission's hyper-parameters, else defaults."""
    meta = submission_meta(name)
    return dict(meta.hyperparameters) if meta else {}


@dataclass(frozen=True)
class PluginRef:
    """What a worker needs to import one method and nothing else: its name, where its code
    is, and, for a refused plugin, the refusal its runs fail with (nothing is imported)."""

    name: str
    origin: str
    refusal: str | None = None


def plugin_ref(name: str) -> PluginRef:
    cls = METHODS.get(name)
    return PluginRef(name, METHODS.origin(name), getattr(cls, "refusal", None))


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
    examined = getattr(cls, "examined", None)
    if examined is not None:
        return dict(examined.config)
    return dict(build_method(name, method_options(name)).config)


def is_baseline(name: str) -> bool:
    return METHODS.origin(name).startswith(str(baselines_dir()))


def baseline_names() -> list[str]:
    """The reference baselines (what ``run`` scores when no method is named)."""
    return [n for n in METHODS.names() if is_baseline(n)]


def select_methods(requested: list[str] | None) -> list[str]:
    """The named methods (each checked, with suggestions), else every baseline."""
    for name in requested or []:
        METHODS.get(name)
    return list(requested) if requested else baseline_names()


def method_info(name: str) -> MethodInfo:
    """What the leaderboard shows about a method: its submission.yaml, else its docstrings."""
    cls = METHODS.get(name)
    meta = submission_meta(name)
    if meta is not None:
        return MethodInfo(kind="submission", summary=meta.description.strip().splitlines()[0],
                          description=meta.description.strip(), authors=list(meta.authors),
                          paper=meta.paper, code=meta.code, licence=meta.licence)
    examined = getattr(cls, "examined", None)
    if examined is not None:
        summary, description = examined.summary, examined.description
    else:
        module = sys.modules.get(cls.__module__)
        summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        description = inspect.cleandoc(getattr(module, "__doc__", None) or "")
    return MethodInfo(kind="baseline" if is_baseline(name) else "plugin", summary=summary,
                      description=description, paper=cls.paper, code=cls.code,
                      control=bool(getattr(cls, "control", False)))
