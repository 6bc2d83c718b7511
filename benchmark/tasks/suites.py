"""Named suites: the task lists that run, freeze and rank together (``tasks/suites/*.yaml``).

A suite may be *retired*: kept declared with the reason (what replaced it), so its records are
listed as not comparable on the site and ``run``/``freeze`` refuse it with that reason.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from benchmark.core.errors import SpecError, UnknownNameError
from benchmark.core.paths import tasks_dir
from benchmark.core.registry import Registry
from benchmark.core.schema import read_yaml, validate
from benchmark.tasks.spec import TASKS, TaskSpec, _Strict


class RunLimits(_Strict):
    """Per-run limits the harness enforces; a run over either fails and its worker is replaced."""

    timeout_s: float | None = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    memory_mb: float | None = Field(default=8192.0, gt=0, le=2**24)


class SuiteSpec(_Strict):
    description: str
    tasks: list[str] = Field(min_length=1)   # a retired suite keeps the list it ran
    limits: RunLimits = Field(default_factory=RunLimits)
    # why the suite no longer runs and what replaced it; its records are not ranked
    retired: str | None = Field(default=None, min_length=10, max_length=500)
    # the replicate draws the suite runs and ranks: the first N of each task's (None: all)
    replicates: int | None = Field(default=None, ge=1)


class RetiredSuiteError(SpecError):
    """A retired suite was asked to run or freeze."""


def suite_files() -> list[Path]:
    """``tasks/suites.yaml`` and any of users' own files in ``tasks/suites/``."""
    main = tasks_dir() / "suites.yaml"
    return ([main] if main.is_file() else []) + sorted((tasks_dir() / "suites").glob("*.yaml"))


def _load_suites(registry: Registry[SuiteSpec]) -> None:
    for path in suite_files():
        raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise SpecError(f"{path}: expected a mapping of suite name to suite")
        for name, body in raw.items():
            suite = validate(SuiteSpec, body, f"{path} (suite {name!r})")
            for task in suite.tasks:
                if task not in TASKS:
                    raise SpecError(f"{path}: suite {name!r} lists "
                                    f"{TASKS.unknown_message(task)}")
                if suite.replicates and suite.replicates > TASKS.get(task).replicates:
                    raise SpecError(
                        f"{path}: suite {name!r} ranks {suite.replicates} replicates, but "
                        f"task {task!r} has {TASKS.get(task).replicates}; lower the suite's "
                        "`replicates` or freeze the task with more")
            registry.add(str(name), suite, origin=str(path))


SUITES: Registry[SuiteSpec] = Registry("suite", loader=_load_suites)


def suite_tasks(suite: str) -> list[TaskSpec]:
    """A live suite's tasks; a retired one is refused with its reason."""
    declared = SUITES.get(suite)
    if declared.retired is not None:
        raise RetiredSuiteError(f"suite {suite!r} is retired: {declared.retired} Its records "
                                "stay on the site as not comparable; run its successor.")
    return [TASKS.get(t) for t in declared.tasks]


def ranked_suite_tasks() -> dict[str, frozenset[str]]:
    """Each declared suite's tasks now, the tasks its board may rank: none for a retired
    suite, so every record of it is listed apart."""
    return {name: frozenset(() if s.retired else s.tasks) for name, s in SUITES.items()}


def ranked_suite_replicates() -> dict[str, int]:
    """The suites that rank only the first N replicate draws of their tasks, with N."""
    return {name: s.replicates for name, s in SUITES.items() if s.replicates}


def suite_replicates(suite: str, task: TaskSpec) -> int:
    """How many of ``task``'s replicates a run of ``suite`` covers by default."""
    declared = SUITES.get(suite).replicates if suite in SUITES else None
    return min(task.replicates, declared or task.replicates)


def suite_limits(suite: str) -> RunLimits:
    """A declared suite's limits; the defaults for a suite of tasks named on the command line."""
    return SUITES.get(suite).limits if suite in SUITES else RunLimits()


def resolve_tasks(suite: str, only: list[str] | None = None) -> list[TaskSpec]:
    tasks = suite_tasks(suite)
    if not only:
        return tasks
    in_suite = {t.id for t in tasks}
    for name in only:
        if name not in in_suite:
            TASKS.get(name)  # an unknown task: "did you mean"
            raise UnknownNameError(f"task {name!r} is not in suite {suite!r} (its tasks: "
                                   + ", ".join(sorted(in_suite)) + "); leave out --suite to "
                                   "run it on its own, under a suite named for it")
    return [t for t in tasks if t.id in only]


def select_tasks(suite: str | None, only: list[str] | None, default_suite: str
                 ) -> tuple[str, list[TaskSpec]]:
    """The suite and tasks a command runs. Without ``--suite``, tasks that are not all in
    the default suite run as a suite of their own, named after them (``a+b``), so their
    records never mix with the default suite's board."""
    if suite is None and only:
        default = set(SUITES.get(default_suite).tasks) if default_suite in SUITES else set()
        if not set(only) <= default:
            specs = [TASKS.get(name) for name in dict.fromkeys(only)]
            name = "+".join(sorted(s.id for s in specs))
            if len(name) > 255:   # a record's suite is a folder name
                raise SpecError(f"{len(specs)} tasks make a suite name of {len(name)} "
                                "characters, over the 255 a folder name can hold; declare "
                                "them as a suite in tasks/suites/*.yaml and run --suite NAME")
            return name, specs
    suite = suite or default_suite
    return suite, resolve_tasks(suite, only)
