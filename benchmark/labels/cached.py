"""What a task's kinds froze into this machine's cache rather than into ``tasks/frozen/``
(a sandbagging task's locked students: too large to commit), and which replicates lack it.
Light to import: a sweep's driver asks before it decides whether to rebuild anything."""

from __future__ import annotations

from benchmark.core.kinds import TaskKind, declared_kinds
from benchmark.labels.frozen import is_frozen, load_references
from benchmark.tasks.spec import TaskSpec


def missing_replicates(spec: TaskSpec, replicates: list[int]) -> list[int]:
    """Of ``replicates``, those for which a kind of the task froze files into the cache
    that this machine lacks: the freeze stage rebuilds them
    (:func:`benchmark.labels.freeze.rebuild_missing`)."""
    kinds = [kind for kind in declared_kinds(spec)
             if type(kind).missing is not TaskKind.missing]
    if not kinds or not replicates or not is_frozen(spec.id):
        return []   # a task not frozen yet has nothing to rebuild (its runs say so)
    references = load_references(spec).replicates
    return [k for k in replicates if any(kind.missing(spec, k, references[k]) for kind in kinds)]
