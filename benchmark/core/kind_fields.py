"""The fields the task kinds add to the schemas they extend: a block per kind on the task
definition, a replicate's references, a record's metrics and its ``setting``. Each builder
checks that no kind replaces a field of the schema or of another kind."""

from __future__ import annotations

from typing import Any

from benchmark.core.kinds import registered_kinds


def added_fields(base: Any, fields: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """``fields`` (name -> (kind key, definition)) checked against ``base``'s own fields and
    each other, so that no kind replaces a field of the schema or of another kind."""
    taken = set(base.model_fields)
    clash = sorted(name for name in fields if name in taken)
    if clash:
        owner = fields[clash[0]][0]
        raise TypeError(f"task kind {owner!r} declares {clash[0]!r}, a field "
                        f"{base.__name__} already has; rename it")
    return {name: definition for name, (_, definition) in fields.items()}


def unique_fields(pairs: list[tuple[str, str, Any]]) -> dict[str, tuple[str, Any]]:
    """(field name, kind key, definition) as a mapping; two kinds naming one field refused."""
    found: dict[str, tuple[str, Any]] = {}
    for name, key, definition in pairs:
        if name in found:
            raise TypeError(f"task kinds {found[name][0]!r} and {key!r} both declare {name!r}")
        found[name] = (key, definition)
    return found


def block_fields(base: Any) -> dict[str, Any]:
    """One optional block per kind, for the task definition ``base``."""
    kinds = registered_kinds()
    return added_fields(base, unique_fields([(k.key, k.key, (k.block | None, None))
                                             for k in kinds]))


def reference_fields(base: Any) -> dict[str, Any]:
    """Every kind's fields of a replicate's references, for the schema ``base``."""
    return added_fields(base, unique_fields([(name, k.key, (kind_type | None, None))
                                       for k in registered_kinds()
                                       for name, kind_type in k.reference_fields.items()]))


def metric_fields(base: Any) -> dict[str, Any]:
    """Every kind's fields of a record's metrics, for the schema ``base`` (a type named by a
    string is the record module's own, e.g. ``"PartScore"``)."""
    return added_fields(base, unique_fields([
        (name, k.key, (f"{kind_type} | None" if isinstance(kind_type, str)
                       else kind_type | None, None))
        for k in registered_kinds() for name, kind_type in k.metric_fields.items()]))


def setting_fields(base: Any) -> dict[str, Any]:
    """Every kind's record ``setting`` fields, for the record schema ``base``."""
    kinds = registered_kinds()
    return added_fields(base, unique_fields([
        (name, k.key, (f.annotation, f.default)) for k in kinds
        for name, f in k.setting_fields.items()]))


def further_metrics() -> list[str]:
    """The metric fields that score a run's rows after its test set."""
    return [name for k in registered_kinds() if k.further_splits for name in k.metric_fields]
