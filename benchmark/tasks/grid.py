"""The weak × strong grid: every (weak, strong) pair of an ordered list of rungs, on each
embedded dataset, as ordinary task files (the paper's figure-3 design).

A grid task is its dataset's template task (the ``tfidf-logreg → minilm-l6`` task of
``mini``: same pool, splits and probe recipe) with the weak and strong models swapped in,
named ``<prefix>-<weak>-to-<strong><suffix>`` (the suffix is the template's, e.g. ``-g1000``),
so a pair that already exists is that task (its frozen files are reused, never rewritten).
The weak rung is supervised by its own definition (``tasks/supervisors/``), never by the
template's settings, and each pair draws its own splits (its own seed). A grid pair is kept
whatever its capability gap (``gap_exception``), so the grid is whole; the board shows the
gap of each. The rung order is the caller's, weakest first; the default is the embedded
ladder ordered by the accuracy of each rung trained on gold (see :data:`LADDER`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmark.core.errors import SpecError
from benchmark.core.paths import tasks_dir
from benchmark.core.schema import read_yaml
from benchmark.models import MODELS
from benchmark.tasks.spec import TASKS, TaskSpec
from benchmark.tasks.supervisors import latest_definition

# Weakest first. tf-idf cannot be a student, so it is the floor; the others by their mean
# ceiling (the rung's probe trained on 1,000 gold labels of B, mean of 20 replicates) over
# the two datasets (rt / tweets): minilm-l6-layer1 .720 / .784, paraphrase-minilm-l3
# .715 / .793, minilm-l6-layer3 .747 / .797, minilm-l6 .740 / .820, smollm2-135m-q4
# .766 / .797 (its hidden state chosen on examples outside the pool), mpnet-base
# .835 / .854. The decoder is the larger model (134.5M against mpnet's 108.9M) but the
# weaker student: capability and size disagree there. At 6,000 gold labels, measured under
# the unequal-gold protocol (docs/ladder.md), the order was the same.
LADDER = ("tfidf-logreg", "minilm-l6-layer1", "paraphrase-minilm-l3", "minilm-l6-layer3",
          "minilm-l6", "smollm2-135m-q4", "mpnet-base")
TEMPLATES = {"rt": "rt-tfidf-logreg-to-minilm-l6-g1000",
             "tweets": "tweets-tfidf-logreg-to-minilm-l6-g1000"}
GAP_EXCEPTION = ("a pair of the weak x strong grid: kept whatever its capability gap so the "
                 "grid is whole; the board shows the gap")


@dataclass(frozen=True)
class GridTask:
    spec: TaskSpec
    exists: bool          # already a task file (an embedded task or written before)


def grid_pairs(rungs: Sequence[str]) -> list[tuple[str, str]]:
    """Every (weak, strong) with weak before strong; the strong side needs features."""
    for name in rungs:
        MODELS.get(name)  # unknown names: "did you mean"
    return [(weak, strong) for i, weak in enumerate(rungs) for strong in rungs[i + 1:]
            if MODELS.get(strong).kind == "encoder"]


def _describe(template: TaskSpec, weak: str, strong: str) -> str:
    base = template.description.split(" on ", 1)
    return f"{weak} supervises {strong} on {base[1]}" if len(base) == 2 else template.description


def _suffix(prefix: str, template: TaskSpec) -> str:
    """What follows ``<weak>-to-<strong>`` in the template's id (e.g. ``-g1000``)."""
    stem = f"{prefix}-{template.weak_model}-to-{template.strong_model}"
    return template.id[len(stem):] if template.id.startswith(stem) else ""


def pair_seed(template: TaskSpec, weak: str, strong: str) -> int:
    """A seed of the pair's own, the same whichever rungs the grid is cut from."""
    if weak in LADDER and strong in LADDER:
        index = 1 + len(LADDER) * LADDER.index(weak) + LADDER.index(strong)
    else:
        index = 100 + int(hashlib.sha256(f"{weak}>{strong}".encode()).hexdigest()[:6], 16) % 900
    return template.seed + 100_000 * index


def _definition(weak: str) -> str:
    definition = latest_definition(weak)
    if definition is None:
        raise SpecError(f"grid: no supervisor definition is named {weak!r}; add one to "
                        "tasks/supervisors/ (a grid never copies a template's settings)")
    return definition


def grid_tasks(rungs: Sequence[str] = LADDER,
               templates: dict[str, str] | None = None) -> list[GridTask]:
    """The grid's tasks, in (dataset, weak, strong) order."""
    out = []
    for prefix, template_id in (templates or TEMPLATES).items():
        template = TASKS.get(template_id)
        for weak, strong in grid_pairs(rungs):
            task_id = f"{prefix}-{weak}-to-{strong}{_suffix(prefix, template)}"
            body = template.model_dump(mode="json", exclude_none=True)
            body.update(id=task_id, weak_model=weak, strong_model=strong,
                        description=_describe(template, weak, strong))
            if template.weak_supervisor is not None:
                body.update(weak_supervisor=_definition(weak),
                            seed=pair_seed(template, weak, strong),
                            gap_exception=GAP_EXCEPTION)
            spec = TaskSpec.model_validate(body)
            if task_id in TASKS:
                existing = TASKS.get(task_id)
                if (existing.weak_model, existing.strong_model) != (weak, strong):
                    raise SpecError(f"task {task_id!r} exists with {existing.weak_model} → "
                                    f"{existing.strong_model}; rename it or the rung")
                out.append(GridTask(existing, True))
            else:
                out.append(GridTask(spec, False))
    return out


def _check_suite_file(suite: str, tasks: list[str], force: bool) -> Path:
    """Where the grid's suite goes, refusing to lose a declaration: a file that declares
    other suites is never rewritten, a suite declared in another file is never declared
    twice, and a suite whose tasks would change (other measurements depend on it, e.g. the
    ladder's measured order) is replaced only with ``force``."""
    from benchmark.tasks.suites import SUITES

    suite_file = tasks_dir() / "suites" / f"{suite}.yaml"
    if suite_file.is_file():
        declared = read_yaml(suite_file)
        others = sorted(set(declared) - {suite}) if isinstance(declared, dict) else ["?"]
        if others:
            raise SpecError(f"{suite_file} also declares {', '.join(others)}; write the grid "
                            "under another --suite name")
    if suite in SUITES:
        origin = Path(SUITES.origin(suite))
        if origin.resolve() != suite_file.resolve():
            raise SpecError(f"suite {suite!r} is declared in {origin}; write the grid under "
                            "another --suite name")
        if list(SUITES.get(suite).tasks) != tasks and not force:
            raise SpecError(f"suite {suite!r} exists with other tasks; --force replaces it "
                            "(its records of dropped tasks are then listed apart), or write "
                            "the grid under another --suite name")
    return suite_file


def write_grid(tasks: Sequence[GridTask], suite: str, description: str,
               force: bool = False, written_by: str = "w2s-bench grid",
               limits: dict[str, float] | None = None) -> list[Path]:
    """Write the missing task files and ``tasks/suites/<suite>.yaml`` listing them all
    (``written_by``: the command named at the top of each task file; ``limits``: the
    suite's per-run limits, default the suites' default)."""
    suite_file = _check_suite_file(suite, [t.spec.id for t in tasks], force)
    written = []
    for task in tasks:
        if task.exists:
            continue
        path = tasks_dir() / f"{task.spec.id}.yaml"
        body = task.spec.model_dump(mode="json", exclude_none=True)
        path.write_text(f"# written by `{written_by}`\n"
                        + yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
        written.append(path)
    suite_file.parent.mkdir(exist_ok=True)
    body: dict[str, object] = {"description": description,
                               "tasks": [t.spec.id for t in tasks]}
    if limits:
        body["limits"] = limits
    suite_file.write_text(yaml.safe_dump({suite: body}, sort_keys=False, allow_unicode=True))
    from benchmark.tasks.suites import SUITES

    TASKS.reset()
    SUITES.reset()   # this process reads the new suite too
    return [*written, suite_file]
