"""Submission metadata: the strict ``submissions/<name>/submission.yaml`` schema.

A submission is a folder with ``method.py`` (the plugin) and ``submission.yaml`` (who made it,
what it is, where it comes from, which hyper-parameters it runs with, under what licence,
and what it uses beyond the weak labels: its ``uses``, which the board marks).
The hyper-parameters are the options the harness passes to the method, so what a record
says it ran with is what the submission declares.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from benchmark.core.errors import SpecError
from benchmark.core.method_card import Uses
from benchmark.core.paths import submissions_dir
from benchmark.core.schema import read_yaml, validate

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
METADATA_FILE = "submission.yaml"
PLUGIN_FILE = "method.py"


class SubmissionMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(min_length=1, max_length=40)
    authors: list[str] = Field(min_length=1)
    description: str = Field(min_length=1, max_length=2000)
    paper: str | None = None
    code: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    licence: str = Field(min_length=1, max_length=100)
    # what the method uses beyond the weak labels (test inputs, extra data or models, gold
    # for tuning, compute): required, every field stated, so numbers compare
    uses: Uses

    @field_validator("paper", "code")
    @classmethod
    def _is_link(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError("must be an http(s) link, or leave the key out")
        return value

    @field_validator("authors")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        if any(not a.strip() for a in value):
            raise ValueError("author names must not be empty")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else value


def submission_folder(name_or_path: str | Path) -> Path:
    """``NAME`` or ``submissions/NAME`` (any path to the folder) → the folder."""
    from benchmark.core.paths import repo_root

    path = Path(name_or_path)
    for candidate in (path, repo_root() / path, submissions_dir() / path.name):
        if candidate.is_dir() and ((candidate / METADATA_FILE).exists()
                                   or (candidate / PLUGIN_FILE).exists()):
            return candidate.resolve()
    known = sorted(p.name for p in submissions_dir().glob("*/") if p.is_dir())
    import difflib

    close = difflib.get_close_matches(path.name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SpecError(f"no submission folder {str(name_or_path)!r}.{hint} Submissions: "
                    f"{', '.join(known) or '(none)'}; create one with `w2s-bench new-method NAME`")


def load_submission_meta(folder: Path) -> SubmissionMeta:
    """Read and check ``folder/submission.yaml``; its name must be the folder's name."""
    path = folder / METADATA_FILE
    if not path.is_file():
        raise SpecError(f"{path} is missing: every submission needs one (name, version, "
                        "authors, description, licence, hyperparameters); "
                        "`w2s-bench new-method NAME` writes a template")
    meta = validate(SubmissionMeta, read_yaml(path), str(path))
    if meta.name != folder.name:
        raise SpecError(f"{path}: `name` is {meta.name!r} but the folder is {folder.name!r}; "
                        "they must be the same")
    return meta
