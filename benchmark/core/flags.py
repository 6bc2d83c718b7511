"""Flagged leaderboard entries: ``submissions/flags.yaml``, one entry per method with the
public reason and a link to the discussion. A flagged method stays on the board, beside its
reason, but takes no rank and no place in the family of tests (as a control does). Read as a
plain file: the site imports no method or run code."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from benchmark.core.errors import SpecError
from benchmark.core.paths import submissions_dir
from benchmark.core.schema import read_yaml, validate

FLAGS_FILE = "flags.yaml"


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    method: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    reason: str = Field(min_length=10, max_length=500)
    link: str | None = None
    since: date   # when it was flagged

    @field_validator("link")
    @classmethod
    def _is_link(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError("must be an http(s) link, or leave the key out")
        return value


class Flags(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    flags: list[Flag] = []


def read_flags() -> dict[str, Flag]:
    """The flagged methods by name (none where the file is absent); a method flagged twice is
    refused, naming it."""
    path = submissions_dir() / FLAGS_FILE
    if not path.is_file():
        return {}
    found = validate(Flags, read_yaml(path) or {}, str(path)).flags
    by_method: dict[str, Flag] = {}
    for flag in found:
        if flag.method in by_method:
            raise SpecError(f"{path}: {flag.method!r} is flagged twice; keep one entry")
        by_method[flag.method] = flag
    return by_method
