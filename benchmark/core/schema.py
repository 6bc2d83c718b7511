"""Turn pydantic validation errors into one precise message: file, field, what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from benchmark.core.errors import SpecError

M = TypeVar("M", bound=BaseModel)


def describe_errors(exc: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, err["loc"][:-1])
            allowed = ", ".join(parent.model_fields) if parent else "see the schema"
            lines.append(f"unknown key `{field}` (allowed here: {allowed})")
        elif err["type"] == "missing":
            lines.append(f"missing required key `{field}`")
        else:
            shown = repr(err.get("input"))
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            lines.append(f"`{field}`: {err['msg']} (got {shown})")
    return "; ".join(lines)


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` against ``model``; a failure is a SpecError naming ``source``."""
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise SpecError(f"{source}: expected a mapping of keys to values, got {kind}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{source}: {describe_errors(exc, model)}") from None


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from None


def read_json_model(model: type[M], path: Path, what: str, fix: str) -> M:
    """A JSON file as ``model``: the fast path lets pydantic parse the bytes itself; on any
    failure the file is read again to say exactly what is wrong (``what`` names the kind of
    file, ``fix`` what to do about an unreadable one)."""
    try:
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        pass
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: not a readable {what} ({exc}); {fix}") from None
    return validate(model, data, str(path))
