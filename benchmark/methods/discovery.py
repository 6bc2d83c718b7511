"""Method discovery: ``baselines/*.py``, ``submissions/<name>/``, and entry points.

Baselines are written exactly as submissions are, so one mechanism loads both; installed
packages may also expose methods under the ``w2s_bench.methods`` entry-point group. All three
land in the one METHODS registry.

A broken plugin (syntax error, import error, malformed ``submission.yaml``, no method
registered, a name clash) never stops discovery: it is recorded as a :class:`PluginProblem`
and, where its name is free, registered as a placeholder whose every run fails with the
problem's message. So one bad submission costs its own runs, not the sweep.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmark.api.method import Method
from benchmark.core.errors import PluginError, SpecError
from benchmark.core.paths import baselines_dir, submissions_dir
from benchmark.core.registry import Registry
from benchmark.methods.codescan import scan_submission
from benchmark.methods.submissions import (
    METADATA_FILE,
    PLUGIN_FILE,
    SubmissionMeta,
    load_submission_meta,
)

ENTRY_POINT_GROUP = "w2s_bench.methods"


@dataclass(frozen=True)
class PluginProblem:
    name: str      # the method name the plugin was meant to provide
    source: str    # the file or entry point
    message: str   # what is wrong and how to fix it


@dataclass
class Discovery:
    """What one discovery found besides the registered classes: the problems to report and
    each submission's metadata (its hyper-parameters are the options its runs use)."""

    problems: list[PluginProblem] = field(default_factory=list)
    submissions: dict[str, SubmissionMeta] = field(default_factory=dict)


def _placeholder(problem: PluginProblem) -> type[Method]:
    class BrokenPlugin(Method):
        version = "broken"

        def __init__(self, **config: Any) -> None:
            raise PluginError(f"{problem.source}: {problem.message}")

    BrokenPlugin.__doc__ = f"BROKEN: {problem.message}"
    BrokenPlugin.name = problem.name
    return BrokenPlugin


def _refuse(registry: Registry[type[Method]], found: Discovery, name: str, source: str,
            message: str) -> None:
    problem = PluginProblem(name, source, message)
    found.problems.append(problem)
    if name not in registry.names():
        registry.add(name, _placeholder(problem), origin=source)


def _install_package(package: str, folder: Path) -> None:
    """Make ``import package.x`` find ``folder/x.py`` (baselines may build on each other).

    Earlier imports under ``package`` are dropped, so a discovery re-executes every plugin
    file and sees edits made since the last one.
    """
    for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
        del sys.modules[key]
    module = types.ModuleType(package)
    module.__path__ = [str(folder)]
    sys.modules[package] = module


def _import_file(registry: Registry[type[Method]], module_name: str, path: Path
                 ) -> list[str] | str:
    """Execute a plugin file; returns the names it registered, or the error's text."""
    before = set(registry.names())
    if module_name not in sys.modules:  # a sibling may have imported it already
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            return f"cannot import {path}"
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # any failure of plugin code is that plugin's problem
            del sys.modules[module_name]
            return f"failed to import: {type(exc).__name__}: {exc}"
    return sorted(set(registry.names()) - before)


def _load_submission(registry: Registry[type[Method]], found: Discovery, folder: Path
                     ) -> None:
    name, plugin = folder.name, folder / PLUGIN_FILE
    try:
        meta = load_submission_meta(folder)
    except SpecError as exc:
        return _refuse(registry, found, name, str(folder / METADATA_FILE), str(exc))
    if not plugin.is_file():
        return _refuse(registry, found, name, str(plugin), f"{plugin} is missing; it must "
                       f"define the method with @register({name!r})")
    added = _import_file(registry, f"w2s_submissions.{name.replace('-', '_')}", plugin)
    if isinstance(added, str):
        return _refuse(registry, found, name, str(plugin), added)
    for extra in [n for n in added if n != name]:
        registry.remove(extra)
        found.problems.append(PluginProblem(extra, str(plugin), f"a submission defines one method; "
                                      f"{extra!r} is not {name!r} and was not registered"))
    if name not in added:
        return _refuse(registry, found, name, str(plugin), f"registers no method named {name!r}; "
                       f"decorate your Method subclass with @register({name!r})")
    cls = registry.get(name)
    if str(cls.version) != meta.version:
        registry.remove(name)
        return _refuse(registry, found, name, str(plugin), f"the class says version "
                       f"{cls.version!r} but {METADATA_FILE} says {meta.version!r}; make them "
                       "the same (bump both when results change)")
    try:
        cls(**meta.hyperparameters)
    except Exception as exc:
        registry.remove(name)
        return _refuse(registry, found, name, str(folder / METADATA_FILE),
                       f"`hyperparameters` rejected: {exc}")
    found.submissions[name] = meta
    for flag in scan_submission(folder):
        found.problems.append(PluginProblem(name, str(flag.file), f"warning only: line {flag.line} "
                                      f"imports {flag.module} ({flag.why}); methods must use "
                                      "only their MethodInput, and `verify` fails on this"))


def _load_entry_points(registry: Registry[type[Method]], found: Discovery) -> None:
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {entry.name} = {entry.value}"
        try:
            loaded = entry.load()
        except Exception as exc:
            _refuse(registry, found, entry.name, source,
                    f"failed to load: {type(exc).__name__}: {exc}")
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Method)):
            _refuse(registry, found, entry.name, source, "must point at a Method subclass, got "
                    f"{type(loaded).__name__}")
        elif entry.name in registry.names():
            if registry.get(entry.name) is not loaded:
                found.problems.append(PluginProblem(entry.name, source, f"name clash: method "
                                f"{entry.name!r} is already defined in "
                                f"{registry.origin(entry.name)}; rename the entry point"))
        else:
            loaded.name = loaded.name or entry.name
            registry.add(entry.name, loaded, origin=source)


def discover_methods(registry: Registry[type[Method]]) -> Discovery:
    """Import every baseline, submission and entry point into ``registry``."""
    found = Discovery()
    _install_package("baselines", baselines_dir())
    _install_package("w2s_submissions", submissions_dir())  # fresh modules on every discovery
    for path in sorted(baselines_dir().glob("*.py")):
        if not path.name.startswith("_"):
            added = _import_file(registry, f"baselines.{path.stem}", path)
            if isinstance(added, str):
                _refuse(registry, found, found, path.stem, str(path), added)
    for folder in sorted(p for p in submissions_dir().glob("*") if p.is_dir()):
        if (folder / PLUGIN_FILE).exists() or (folder / METADATA_FILE).exists():
            _load_submission(registry, found, folder)
    _load_entry_points(registry, found)
    return found
