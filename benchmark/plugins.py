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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import PluginError, SpecError
from benchmark.paths import baselines_dir, submissions_dir
from benchmark.submissions import METADATA_FILE, PLUGIN_FILE, SubmissionMeta, load_submission_meta

if TYPE_CHECKING:
    from benchmark.methods import Method
    from benchmark.records import MethodInfo
    from benchmark.registry import Registry

ENTRY_POINT_GROUP = "w2s_bench.methods"


@dataclass(frozen=True)
class PluginProblem:
    name: str      # the method name the plugin was meant to provide
    source: str    # the file or entry point
    message: str   # what is wrong and how to fix it


PROBLEMS: list[PluginProblem] = []
SUBMISSIONS: dict[str, SubmissionMeta] = {}


def method_options(name: str) -> dict[str, Any]:
    """The options a method runs with: its submission's hyper-parameters, else defaults."""
    from benchmark.methods import METHODS

    METHODS.names()  # discovery fills SUBMISSIONS
    meta = SUBMISSIONS.get(name)
    return dict(meta.hyperparameters) if meta else {}


def method_info(name: str) -> MethodInfo:
    """What the leaderboard shows about a method: its submission.yaml, else its docstrings."""
    import inspect

    from benchmark.methods import METHODS
    from benchmark.records import MethodInfo

    cls = METHODS.get(name)
    meta = SUBMISSIONS.get(name)
    if meta is not None:
        return MethodInfo(kind="submission", summary=meta.description.strip().splitlines()[0],
                          description=meta.description.strip(), authors=list(meta.authors),
                          paper=meta.paper, code=meta.code, licence=meta.licence)
    module = sys.modules.get(cls.__module__)
    summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    description = inspect.cleandoc(getattr(module, "__doc__", None) or "")
    in_baselines = METHODS.origin(name).startswith(str(baselines_dir()))
    return MethodInfo(kind="baseline" if in_baselines else "plugin", summary=summary,
                      description=description, paper=cls.paper, code=cls.code)


def _placeholder(problem: PluginProblem) -> type[Method]:
    from benchmark.methods import Method

    class BrokenPlugin(Method):
        version = "broken"

        def __init__(self, **config: Any) -> None:
            raise PluginError(f"{problem.source}: {problem.message}")

    BrokenPlugin.__doc__ = f"BROKEN: {problem.message}"
    BrokenPlugin.name = problem.name
    return BrokenPlugin


def _refuse(registry: Registry[type[Method]], name: str, source: str, message: str) -> None:
    problem = PluginProblem(name, source, message)
    PROBLEMS.append(problem)
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


def _load_submission(registry: Registry[type[Method]], folder: Path) -> None:
    name, plugin = folder.name, folder / PLUGIN_FILE
    try:
        meta = load_submission_meta(folder)
    except SpecError as exc:
        return _refuse(registry, name, str(folder / METADATA_FILE), str(exc))
    if not plugin.is_file():
        return _refuse(registry, name, str(plugin), f"{plugin} is missing; it must define the "
                       f"method with @register({name!r})")
    added = _import_file(registry, f"w2s_submissions.{name.replace('-', '_')}", plugin)
    if isinstance(added, str):
        return _refuse(registry, name, str(plugin), added)
    for extra in [n for n in added if n != name]:
        registry.remove(extra)
        PROBLEMS.append(PluginProblem(extra, str(plugin), f"a submission defines one method; "
                                      f"{extra!r} is not {name!r} and was not registered"))
    if name not in added:
        return _refuse(registry, name, str(plugin), f"registers no method named {name!r}; "
                       f"decorate your Method subclass with @register({name!r})")
    cls = registry.get(name)
    if str(cls.version) != meta.version:
        registry.remove(name)
        return _refuse(registry, name, str(plugin), f"the class says version "
                       f"{cls.version!r} but {METADATA_FILE} says {meta.version!r}; make them "
                       "the same (bump both when results change)")
    try:
        cls(**meta.hyperparameters)
    except Exception as exc:
        registry.remove(name)
        return _refuse(registry, name, str(folder / METADATA_FILE),
                       f"`hyperparameters` rejected: {exc}")
    SUBMISSIONS[name] = meta
    from benchmark.codescan import scan_submission

    for flag in scan_submission(folder):
        PROBLEMS.append(PluginProblem(name, str(flag.file), f"warning only: line {flag.line} "
                                      f"imports {flag.module} ({flag.why}); methods must use "
                                      "only their MethodInput, and `verify` fails on this"))


def _load_entry_points(registry: Registry[type[Method]]) -> None:
    from benchmark.methods import Method

    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {entry.name} = {entry.value}"
        try:
            loaded = entry.load()
        except Exception as exc:
            _refuse(registry, entry.name, source, f"failed to load: {type(exc).__name__}: {exc}")
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Method)):
            _refuse(registry, entry.name, source, "must point at a Method subclass, got "
                    f"{type(loaded).__name__}")
        elif entry.name in registry.names():
            if registry.get(entry.name) is not loaded:
                PROBLEMS.append(PluginProblem(entry.name, source, f"name clash: method "
                                f"{entry.name!r} is already defined in "
                                f"{registry.origin(entry.name)}; rename the entry point"))
        else:
            loaded.name = loaded.name or entry.name
            registry.add(entry.name, loaded, origin=source)


def discover_methods(registry: Registry[type[Method]]) -> None:
    PROBLEMS.clear()
    SUBMISSIONS.clear()
    _install_package("baselines", baselines_dir())
    _install_package("w2s_submissions", submissions_dir())  # fresh modules on every discovery
    for path in sorted(baselines_dir().glob("*.py")):
        if not path.name.startswith("_"):
            added = _import_file(registry, f"baselines.{path.stem}", path)
            if isinstance(added, str):
                _refuse(registry, path.stem, str(path), added)
    for folder in sorted(p for p in submissions_dir().glob("*") if p.is_dir()):
        if (folder / PLUGIN_FILE).exists() or (folder / METADATA_FILE).exists():
            _load_submission(registry, folder)
    _load_entry_points(registry)
