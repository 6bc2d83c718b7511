"""Method discovery: ``baselines/*.py``, ``submissions/<name>/``, and entry points.

Baselines are written exactly as submissions are, so one mechanism finds both; installed
packages may also expose methods under the ``w2s_bench.methods`` entry-point group. All three
land in the one METHODS registry.

Baselines are the harness's own reviewed code and are imported here. Submissions and entry
points are untrusted, so this process never runs their code: they are examined
(:mod:`benchmark.methods.examine`) inside the sandbox and registered as the data it returns.
Where no sandbox can be made, they are imported here only if the user trusts the code
(``--trust-code``); otherwise they are only read (``submission.yaml``) and the sweep refuses
their runs.

A broken plugin (syntax error, import error, malformed ``submission.yaml``, no method
registered, a name clash) never stops discovery: it is recorded as a :class:`PluginProblem`
and, where its name is free, registered as a placeholder whose every run fails with the
problem's message. So one bad submission costs its own runs, not the sweep.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmark.api.method import Method
from benchmark.core.bwrap import BWRAP, bwrap_works, code_trusted, sandbox_kind
from benchmark.core.errors import PluginError, SpecError
from benchmark.core.method_card import MethodCard, plain_options
from benchmark.core.paths import baselines_dir, submissions_dir
from benchmark.core.registry import Registry
from benchmark.methods.codescan import scan_submission
from benchmark.methods.examine import (
    ENTRY_POINT_GROUP,
    Examined,
    Wanted,
    examine_entry_point,
    examine_in_sandbox,
    examine_submission,
    import_file,
    install_package,
    load_entry_point,
    submission_module,
)
from benchmark.methods.submissions import (
    METADATA_FILE,
    PLUGIN_FILE,
    SubmissionMeta,
    load_submission_meta,
)
from benchmark.methods.variants import add_variants


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
        refusal = f"{problem.source}: {problem.message}"  # a run raises this, unimported

        def __init__(self, **config: Any) -> None:
            raise PluginError(f"{problem.source}: {problem.message}")

    BrokenPlugin.__doc__ = f"BROKEN: {problem.message}"
    BrokenPlugin.name = problem.name
    return BrokenPlugin


def _proxy(card: MethodCard) -> type[Method]:
    """Stands in for an untrusted plugin examined in the sandbox: its card, as data. Its
    runs import the real code inside their own sandbox; this process never does."""

    def refuse(self: Method, **config: Any) -> None:
        raise PluginError(f"method {card.name!r} is untrusted code: only a sandboxed run "
                          "imports it")

    return type("ExaminedPlugin", (Method,), {
        "name": card.name, "version": card.version, "regimes": card.regimes,
        "binary_only": card.binary_only, "needs_decoder": card.needs_decoder,
        "needs_supervisors": card.needs_supervisors, "needs_rungs": card.needs_rungs,
        "needs_boosting": card.needs_boosting, "control": card.control,
        "defaults": dict(card.options), "paper": card.paper, "code": card.code,
        "__doc__": card.summary, "examined_card": card, "__init__": refuse})


def registered_card(wanted: Wanted, examined: Examined) -> MethodCard:
    """An examined plugin's card as the harness registers it: under the name it was asked
    for and the origin its source gets (a plugin's own answer cannot call itself a baseline,
    or another method)."""
    assert examined.card is not None   # Examined holds a card or a problem
    origin = "submission" if wanted.kind == "submission" else "plugin"
    return examined.card.as_registered(wanted.name, origin)


def _refuse(registry: Registry[type[Method]], found: Discovery, name: str, source: str,
            message: str) -> None:
    problem = PluginProblem(name, source, message)
    found.problems.append(problem)
    if name not in registry.names():
        registry.add(name, _placeholder(problem), origin=source)


def _entry_source(entry: metadata.EntryPoint) -> str:
    return f"entry point {entry.name} = {entry.value}"


def _untrusted(registry: Registry[type[Method]], found: Discovery
               ) -> list[tuple[Wanted, str, SubmissionMeta | None]]:
    """Every submission and entry point that passes the checks made without its code."""
    wanted: list[tuple[Wanted, str, SubmissionMeta | None]] = []
    for folder in sorted(p for p in submissions_dir().glob("*") if p.is_dir()):
        name, plugin = folder.name, folder / PLUGIN_FILE
        if not (plugin.exists() or (folder / METADATA_FILE).exists()):
            continue
        try:
            meta = load_submission_meta(folder)
        except SpecError as exc:
            _refuse(registry, found, name, str(folder / METADATA_FILE), str(exc))
            continue
        if not plugin.is_file():
            _refuse(registry, found, name, str(plugin), f"{plugin} is missing; it must define "
                    f"the method with @register({name!r})")
        elif name in registry.names():
            _refuse(registry, found, name, str(plugin), f"name clash: method {name!r} is "
                    f"already defined in {registry.origin(name)}; rename the submission")
        else:
            wanted.append((Wanted(name=name, kind="submission", path=str(folder)),
                           str(plugin), meta))
        for flag in scan_submission(folder):
            found.problems.append(PluginProblem(name, str(flag.file), f"warning only: line "
                                  f"{flag.line} imports {flag.module} ({flag.why}); methods "
                                  "must use only their MethodInput, and `verify` fails on this"))
    taken = set(registry.names()) | {w.name for w, _, _ in wanted}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in taken:
            where = registry.origin(entry.name) if entry.name in registry.names() else \
                str(submissions_dir() / entry.name)
            found.problems.append(PluginProblem(entry.name, _entry_source(entry), f"name clash: "
                                  f"method {entry.name!r} is already defined in {where}; "
                                  "rename the entry point"))
        else:
            taken.add(entry.name)
            wanted.append((Wanted(name=entry.name, kind="entry_point"), _entry_source(entry),
                           None))
    return wanted


def _examine_here(registry: Registry[type[Method]], wanted: Wanted, source: str) -> Examined:
    """The trusted path (no sandbox, ``--trust-code``): import it into this process."""
    if wanted.kind == "submission":
        return examine_submission(registry, Path(wanted.path))
    examined, cls = examine_entry_point(wanted.name)
    if cls is not None:
        registry.add(wanted.name, cls, origin=source)
    return examined


def _unexamined(wanted: Wanted, meta: SubmissionMeta | None) -> Examined:
    """What is known of a plugin without running its code (no sandbox, not trusted)."""
    if meta is None:
        return Examined(name=wanted.name, card=MethodCard(
            name=wanted.name, summary="installed entry point (not examined)"))
    return Examined(name=wanted.name, card=MethodCard(
        name=wanted.name, version=meta.version, origin="submission",
        options=plain_options(meta.hyperparameters), uses=meta.uses,
        summary=meta.description.strip().splitlines()[0]))


def discover_methods(registry: Registry[type[Method]]) -> Discovery:
    """Import every baseline; examine every submission and entry point (see the module)."""
    found = Discovery()
    install_package("baselines", baselines_dir())
    install_package("w2s_submissions", submissions_dir())  # fresh modules on every discovery
    for path in sorted(baselines_dir().glob("*.py")):
        if not path.name.startswith("_"):
            added = import_file(registry, f"baselines.{path.stem}", path)
            if isinstance(added, str):
                _refuse(registry, found, path.stem, str(path), added)
    add_variants(registry)   # before any submission: a submission taking a name is refused
    wanted = _untrusted(registry, found)
    sandboxed = sandbox_kind() == BWRAP
    if sandboxed:
        taken = {n: registry.origin(n) for n in registry.names()}
        results = examine_in_sandbox([w for w, _, _ in wanted], taken)
    elif code_trusted():
        results = [_examine_here(registry, w, source) for w, source, _ in wanted]
    else:
        results = [_unexamined(w, meta) for w, _, meta in wanted]
        for w, source, _ in wanted:
            found.problems.append(PluginProblem(w.name, source, "warning only: not imported "
                                  f"(no sandbox here: {bwrap_works() or 'switched off'}); its "
                                  "runs need --trust-code"))
    for (w, source, meta), examined in zip(wanted, results, strict=True):
        for extra in examined.extra_names:
            found.problems.append(PluginProblem(extra, source, f"a submission defines one "
                                  f"method; {extra!r} is not {w.name!r} and was not registered"))
        if examined.problem is not None:
            _refuse(registry, found, w.name, source, examined.problem)
            continue
        if w.name not in registry.names():  # sandboxed or unexamined: register the data
            registry.add(w.name, _proxy(registered_card(w, examined)), origin=source)
        if meta is not None:
            found.submissions[w.name] = meta
    return found


def import_one(registry: Registry[type[Method]], name: str, origin: str) -> type[Method]:
    """Import only the plugin file (or entry point) that defines ``name``: the process that
    runs a method imports its own code and no other plugin's, so one submission's import-time
    code cannot reach another method's runs."""
    registry.mark_loaded()
    if origin.startswith("entry point "):
        if name not in registry.names():
            registry.add(name, load_entry_point(name), origin=origin)
        return registry.get(name)
    path = Path(origin)
    if path.parent.resolve() == baselines_dir().resolve():
        package, module, folder = "baselines", f"baselines.{path.stem}", baselines_dir()
    elif path.parent.parent.resolve() == submissions_dir().resolve():
        package, module = "w2s_submissions", submission_module(path.parent.name)
        folder = submissions_dir()
    else:
        raise PluginError(f"method {name!r}: its code {origin} is neither in "
                          f"{baselines_dir()} nor in {submissions_dir()}")
    if package not in sys.modules:  # a run's fresh fork: nothing under it to drop
        install_package(package, folder, drop_earlier=False)
    added = import_file(registry, module, path)
    if isinstance(added, str):
        raise PluginError(f"{origin}: {added}")
    if name not in registry.names():
        raise PluginError(f"{origin} no longer registers a method named {name!r}")
    return registry.get(name)
