"""Where a task's data comes from: an asset, a hub dataset at a revision, or a file read by
the columns the task declares."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SLUG = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


COLUMN_FIELDS = ("text", "template", "label", "label_map")
FILE_FIELDS = ("path", "sha256", "format", *COLUMN_FIELDS)
DECLARED_FIELDS = (*FILE_FIELDS, "config", "hub_splits")   # hashed only where set


class DatasetRef(_Strict):
    """Which data. Read by a registered formatter: an asset, or a hub dataset at a revision
    (a hub task draws A and B from the source's train split and test from its test split).
    Read by the column mapping declared here (``label`` set): a local file pinned by its
    sha256, a file inside an asset (``path``), or any hub dataset (``config``,
    ``hub_splits``)."""

    source: Literal["asset", "hub", "file"]
    name: str = Field(pattern=SLUG, max_length=80)
    asset: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    config: str | None = None          # hub by columns: the dataset's config (subset)
    hub_splits: dict[Literal["train", "test"], str] | None = None  # our split → the source's
    path: str | None = None            # file: relative to the checkout root, or absolute
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    format: Literal["csv", "tsv", "jsonl", "parquet"] | None = None   # default: the suffix
    text: str | None = None            # the text column ...
    template: str | None = None        # ... or a template over columns: "{question} {answer}"
    label: str | None = None           # the label column
    label_map: dict[str, str | None] | None = None   # stored value → class name (None: drop)

    @model_validator(mode="after")
    def _pinned(self) -> DatasetRef:
        if self.source == "asset" and not self.asset:
            raise ValueError("an asset dataset needs `asset`")
        if self.source == "hub" and not (self.hub_id and self.revision
                                         and re.fullmatch(r"[0-9a-f]{40}", self.revision)):
            raise ValueError("a hub dataset needs `hub_id` and a pinned `revision` (a 40-hex "
                             "commit; `w2s-bench pin NAME` finds the current one)")
        declared = any(getattr(self, f) is not None for f in COLUMN_FIELDS)
        allowed = {"file": FILE_FIELDS, "asset": FILE_FIELDS if declared else (),
                   "hub": (*COLUMN_FIELDS, "config", "hub_splits") if declared else ()}
        stray = [f for f in DECLARED_FIELDS
                 if getattr(self, f) is not None and f not in allowed[self.source]]
        if stray:
            how = " read by a registered formatter" if not declared else ""
            raise ValueError(f"{', '.join(stray)}: not for a `source: {self.source}` "
                             f"dataset{how} (file fields go with `source: file`, or with "
                             "`source: asset` plus `path`; hub columns with `label`)")
        if self.source == "file" and not (self.path and self.sha256 and self.label):
            raise ValueError("a file dataset needs `path`, `sha256` (`sha256sum FILE`) and "
                             "`label` (the label column)")
        if self.source == "asset" and declared and not (self.path and self.label):
            raise ValueError("an asset dataset read by columns needs `path` (the file inside "
                             "the asset) and `label` (the label column)")
        if self.source == "hub" and declared and not self.label:
            raise ValueError("a hub dataset read by columns needs `label` (the label column)")
        if self.source == "file" or declared:
            self._one_text_field(f"a {self.source} dataset read by columns")
        return self

    def _one_text_field(self, what: str) -> None:
        if (self.text is None) == (self.template is None):
            raise ValueError(f"{what} needs one of `text` (the text column) or `template` "
                             "(e.g. \"{question} {answer}\")")

    @property
    def by_columns(self) -> bool:
        """Read by the column mapping in the YAML rather than by a registered formatter."""
        return self.label is not None

    def hashed(self) -> dict:
        """The fields the task hash covers: file fields only where set, so adding them left
        the hash of every asset and hub task as it was."""
        content = self.model_dump(mode="json")
        return {k: v for k, v in content.items() if k not in DECLARED_FIELDS or v is not None}
