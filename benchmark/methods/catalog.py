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
from benchmark.core.paths import baselines_dir
from benchmark.core.registry import Registry
from benchmark.methods.discovery import Discovery, PluginProblem, discover_methods
from benchmark.methods.submissions import SubmissionMeta
from benchmark.results.records import MethodInfo

__all__ = ["METHODS", "baseline_names", "build_method", "method_info", "method_options",
           "plugin_problems", "select_methods", "submission_meta"]


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


def build_method(name: str, config: dict[str, Any] | None = None) -> Method:
    return METHODS.get(name)(**(config or {}))


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
    module = sys.modules.get(cls.__module__)
    summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    description = inspect.cleandoc(getattr(module, "__doc__", None) or "")
    return MethodInfo(kind="baseline" if is_baseline(name) else "plugin", summary=summary,
                      description=description, paper=cls.paper, code=cls.code)
