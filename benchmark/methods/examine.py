"""Examining a plugin: import its code, check what it declares, describe it as data.

Discovery (:mod:`benchmark.methods.discovery`) must know each method's version, options and
regimes, and whether it loads at all, before a sweep starts. Learning that means running the
plugin's import-time code, and a submission is untrusted: so the harness never imports one
itself. Where a sandbox can be made, :func:`examine_in_sandbox` runs this module inside
bubblewrap (the same view a run gets, :mod:`benchmark.core.bwrap`), one fork per plugin so
one submission's import-time code cannot touch another's examination, and hands back each
plugin as an :class:`Examined` description; the harness registers those as data. Without a
sandbox, only code the user trusts (``--trust-code``) is imported, in-process.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import types
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from benchmark.api.method import Method
from benchmark.core.bwrap import worker_policy
from benchmark.core.confine import close_channels, die_with_parent, prevent_tracing, reap_strays
from benchmark.core.errors import PluginError, SpecError
from benchmark.core.method_card import MethodCard, Origin, Uses, clipped, plain_options
from benchmark.core.registry import Registry
from benchmark.methods.submissions import METADATA_FILE, load_submission_meta

ENTRY_POINT_GROUP = "w2s_bench.methods"
IMPORT_SECONDS = 120  # one plugin's import and checks; beyond it, it is refused
SANDBOX_START_SECONDS = 120


class Examined(BaseModel):
    """One plugin as the harness knows it: its card (what it declared, the options its runs
    get), or why it was refused; exactly one of the two."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    card: MethodCard | None = None
    problem: str | None = None       # set: every run fails with this, nothing is imported
    extra_names: tuple[str, ...] = ()  # other methods a submission file registered

    @model_validator(mode="after")
    def _card_or_problem(self) -> Examined:
        if (self.card is None) == (self.problem is None):
            raise ValueError("an examination gives a card or a problem, one of the two")
        return self


class Wanted(BaseModel):
    """One plugin to examine: a submission folder, or an installed entry point."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["submission", "entry_point"]
    path: str = ""  # the submission's folder


def install_package(package: str, folder: Path, drop_earlier: bool = True) -> None:
    """Make ``import package.x`` find ``folder/x.py`` (baselines may build on each other).

    Earlier imports under ``package`` are dropped, so a discovery re-executes every plugin
    file and sees edits made since the last one. A run's fresh fork has none to drop, and
    scanning ``sys.modules`` there is costly (its keys' pages are copied on write).
    """
    if drop_earlier:
        for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
            del sys.modules[key]
    module = types.ModuleType(package)
    module.__path__ = [str(folder)]
    sys.modules[package] = module


def import_file(registry: Registry[type[Method]], module_name: str, path: Path
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


def submission_module(name: str) -> str:
    return f"w2s_submissions.{name.replace('-', '_')}"


def card_of(cls: type[Method], name: str, origin: Origin,
            options: dict[str, Any] | None = None) -> MethodCard:
    """A method's card from what its class declares (read as attributes; nothing of the
    plugin's is called): its summary is the class docstring's first paragraph, its
    description the module's docstring; ``options``: the ones its runs get (default: its
    ``defaults``)."""
    module = sys.modules.get(cls.__module__)
    return MethodCard(
        name=name, version=str(cls.version), origin=origin, regimes=tuple(cls.regimes),
        binary_only=bool(cls.binary_only), needs_decoder=bool(cls.needs_decoder),
        needs_supervisors=bool(cls.needs_supervisors), needs_rungs=bool(cls.needs_rungs),
        needs_boosting=bool(cls.needs_boosting), control=bool(cls.control),
        options=plain_options(cls.defaults if options is None else options),
        paper=cls.paper, code=cls.code, uses=_declared_uses(cls),
        summary=clipped(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0]
                        .replace("\n", " ")),
        description=clipped(inspect.cleandoc(getattr(module, "__doc__", None) or "")))


def _declared_uses(cls: type[Method]) -> Uses | None:
    """The class's ``uses`` as data (a mapping is checked as one; anything else refused)."""
    declared = getattr(cls, "uses", None)
    if declared is None or isinstance(declared, Uses):
        return declared
    return Uses.model_validate(declared)


def describe(cls: type[Method], name: str, config: dict[str, Any], origin: Origin) -> Examined:
    try:
        return Examined(name=name, card=card_of(cls, name, origin, config))
    except Exception as exc:   # what the class declares does not make a card
        return Examined(name=name, problem=f"its declarations do not describe a method: "
                        f"{str(exc)[:500]}")


def examine_submission(registry: Registry[type[Method]], folder: Path) -> Examined:
    """Import ``folder/method.py`` into ``registry`` and check it against its yaml."""
    name, plugin = folder.name, folder / "method.py"
    try:
        meta = load_submission_meta(folder)
    except SpecError as exc:
        return Examined(name=name, problem=str(exc))
    added = import_file(registry, submission_module(name), plugin)
    if isinstance(added, str):
        return Examined(name=name, problem=added)
    extra = tuple(n for n in added if n != name)
    for other in extra:
        registry.remove(other)
    if name not in added:
        return Examined(name=name, extra_names=extra, problem=f"registers no method named "
                        f"{name!r}; decorate your Method subclass with @register({name!r})")
    cls = registry.get(name)
    if str(cls.version) != meta.version:
        registry.remove(name)
        return Examined(name=name, extra_names=extra, problem=f"the class says version "
                        f"{cls.version!r} but {METADATA_FILE} says {meta.version!r}; make "
                        "them the same (bump both when results change)")
    try:
        config = cls(**meta.hyperparameters).config
    except Exception as exc:
        registry.remove(name)
        return Examined(name=name, extra_names=extra,
                        problem=f"{METADATA_FILE}: `hyperparameters` rejected: {exc}")
    return describe(cls, name, dict(config), "submission").model_copy(
        update={"extra_names": extra})


def load_entry_point(name: str) -> type[Method]:
    """The Method class an installed distribution names under ``w2s_bench.methods``."""
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            try:
                loaded = entry.load()
            except Exception as exc:
                raise PluginError(f"failed to load: {type(exc).__name__}: {exc}") from exc
            if not (isinstance(loaded, type) and issubclass(loaded, Method)):
                raise PluginError("must point at a Method subclass, got "
                                  f"{type(loaded).__name__}")
            loaded.name = loaded.name or name
            return loaded
    raise PluginError(f"no installed entry point named {name!r} any more")


def examine_entry_point(name: str) -> tuple[Examined, type[Method] | None]:
    try:
        cls = load_entry_point(name)
        return describe(cls, name, dict(cls().config), "plugin"), cls
    except Exception as exc:
        return Examined(name=name, problem=str(exc)), None


def examine(wanted: Wanted, taken: dict[str, str]) -> Examined:
    """Examine one plugin in this process (inside the sandbox's fork). ``taken``: the names
    the harness already has (baselines), so registering one fails here as it would there."""
    from benchmark.api.method import METHODS

    for name, origin in taken.items():
        METHODS.add(name, Method, origin=origin)
    if wanted.kind == "entry_point":
        return examine_entry_point(wanted.name)[0]
    folder = Path(wanted.path)
    install_package("w2s_submissions", folder.parent)
    return examine_submission(METHODS, folder)


# --- the driver's side -------------------------------------------------------------------

BOOTSTRAP = ("import json, sys; request = json.loads(sys.stdin.read()); "
             "sys.path[:0] = request['sys_path']; "
             "from benchmark.methods.examine import examiner_main; examiner_main(request)")


def examine_in_sandbox(wanted: list[Wanted], taken: dict[str, str]) -> list[Examined]:
    """Examine ``wanted`` inside a fresh sandbox; a plugin that could not be examined comes
    back with its problem (the sandbox failing to start refuses them all, with the reason)."""
    if not wanted:
        return []
    request = {"sys_path": [p for p in sys.path if p], "seconds": IMPORT_SECONDS,
               "taken": taken, "plugins": [w.model_dump() for w in wanted]}
    with tempfile.TemporaryDirectory(prefix="w2s-examine-") as area:
        argv = [*worker_policy(Path(area)).argv(), sys.executable, "-c", BOOTSTRAP]
        timeout = SANDBOX_START_SECONDS + IMPORT_SECONDS * len(wanted)
        try:
            done = subprocess.run(argv, input=json.dumps(request), capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            why = f"the examination took longer than {timeout} s"
            return [Examined(name=w.name, problem=f"could not be examined: {why}") for w in wanted]
    try:
        if done.returncode != 0:  # an examiner that did not finish did not write its answer
            raise ValueError(f"exit {done.returncode}")
        found = {e.name: e for e in TypeAdapter(list[Examined]).validate_json(done.stdout)}
    except (ValidationError, ValueError):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[-400:]
        why = f"the sandboxed examination failed (exit {done.returncode}): {tail}"
        return [Examined(name=w.name, problem=f"could not be examined: {why}") for w in wanted]
    return [found.get(w.name) or Examined(name=w.name, problem="the examination returned "
                                          "nothing for it") for w in wanted]


# --- inside the sandbox ------------------------------------------------------------------

def examiner_main(request: dict[str, Any]) -> None:
    """Examine each requested plugin in a fork of its own; print the list as JSON."""
    import numpy  # noqa: F401  (what plugins import, once, before the forks)
    import torch  # noqa: F401

    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever plugin code prints goes to stderr, never into the answer
    prevent_tracing()
    from benchmark.api.method import METHODS

    METHODS.mark_loaded()  # this process imports each plugin alone, never all of them
    results = []
    for item in request["plugins"]:
        wanted = Wanted.model_validate(item)
        results.append(_examine_forked(wanted, dict(request["taken"]),
                                       float(request["seconds"])).model_dump())
        reap_strays()
    json.dump(results, out)
    out.close()


def _examine_forked(wanted: Wanted, taken: dict[str, str], seconds: float) -> Examined:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the plugin's process
        os.close(read)
        code = 1
        try:
            close_channels(keep=write)  # the examiner's answer to the driver among them
            die_with_parent()
            data = examine(wanted, taken).model_dump_json().encode()
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    data, deadline = b"", time.monotonic() + seconds
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([pipe], [], [], left)[0]:
                continue
            chunk = pipe.read(65536)
            if not chunk:
                break
            data += chunk
    if time.monotonic() >= deadline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return Examined(name=wanted.name, problem=f"importing it took longer than {seconds:g} s")
    _, status = os.waitpid(pid, 0)
    try:
        examined = Examined.model_validate_json(data)
    except ValidationError:
        return Examined(name=wanted.name, problem=f"importing it killed its process (wait "
                        f"status {status}): a crash, os._exit or sys.exit at import time")
    return examined if examined.name == wanted.name else Examined(
        name=wanted.name, problem=f"its examination answered for {examined.name!r}")
