"""Datasets declared in a task's YAML: a local CSV / TSV / JSONL / Parquet file, pinned by
its sha256, read with pandas, mapped to the task's classes.

No Python is needed to add such a task: the declaration names the file, its hash, the text
column (or a ``template`` over several columns, e.g. ``"{question} {answer}"``), the label
column and, where the stored values are not the class names, a ``label_map``. Every mistake
is reported with what would fix it: the columns present, the unmapped values with their
counts, both hashes.
"""

from __future__ import annotations

import io
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.storage import sha256_file
from benchmark.datasets.base import Example, make_examples

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
COMPRESSED = (".gz", ".bz2", ".xz")


def file_format(path: Path, declared: str | None) -> str:
    """The declared format, else the one the suffix names (``.csv.gz`` is csv)."""
    if declared:
        return declared
    suffixes = [s for s in path.suffixes if s not in COMPRESSED]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    raise SpecError(f"{path}: cannot tell the format from the name; set `dataset.format` to "
                    f"one of {sorted(set(FORMATS.values()))}")


def read_table(path: Path, fmt: str):
    """The file as a DataFrame of strings (values compared as written, never type-guessed)."""
    import pandas as pd

    if fmt == "parquet":
        return pd.read_parquet(path).astype(str)
    text = io.StringIO(_decoded(path), newline="")
    if fmt == "jsonl":
        return pd.read_json(text, lines=True, dtype=False).astype(str)
    return pd.read_csv(text, sep="," if fmt == "csv" else "\t", dtype=str,
                       keep_default_na=False)


def _decoded(path: Path) -> str:
    """The file as text; bytes that are not UTF-8 become U+FFFD (deterministic, and real
    corpora have them: the embedded tweets are double-encoded in places). Compressed files
    (.gz, .bz2, .xz) are opened through their codec."""
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    with opener(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _label_indices(values: Sequence[str], label_names: Sequence[str],
                   label_map: Mapping[str, str] | None, path: Path) -> list[int | None]:
    """Each row's class index; values mapped to ``None`` in ``label_map`` are dropped."""
    index = {name: i for i, name in enumerate(label_names)}
    mapping = dict(label_map) if label_map is not None else {n: n for n in label_names}
    strays = sorted({str(v) for v in mapping.values() if v is not None and v not in index})
    if strays:
        raise SpecError(f"{path}: `dataset.label_map` maps to {', '.join(map(repr, strays))}, "
                        f"which {'is' if len(strays) == 1 else 'are'} not in `label_names` "
                        f"{list(label_names)}")
    unknown = Counter(v for v in values if v not in mapping)
    if unknown:
        listed = ", ".join(f"{v!r} ({n})" for v, n in unknown.most_common(12))
        raise SpecError(f"{path}: label values not in `label_names` "
                        f"{list(label_names)}{' or `label_map`' if label_map else ''}: {listed}"
                        f"{' …' if len(unknown) > 12 else ''}; map each to a class name in "
                        "`dataset.label_map` (or to null to drop its rows)")
    return [None if mapping[v] is None else index[mapping[v]] for v in values]


def read_file_dataset(path: Path, sha256: str | None, label_names: Sequence[str], *,
                      text: str | None,
                      template: str | None, label: str, label_map: Mapping[str, str] | None,
                      fmt: str | None = None) -> list[Example]:
    """The examples of a declared file, after checking that it is the pinned one."""
    if not path.is_file():
        raise SpecError(f"dataset file {path} does not exist (paths are relative to the "
                        "checkout root)")
    actual = sha256_file(path) if sha256 is not None else None  # None: its wheel is pinned
    if actual != sha256:
        raise IntegrityError(f"{path}: sha256 is {actual}, the task pins {sha256}; if the "
                             "new file is intended, put its hash in `dataset.sha256` and bump "
                             "the task's `version` (frozen weak labels are tied to the file)")
    frame = read_table(path, file_format(path, fmt))
    return column_examples(frame.to_dict("records"), list(map(str, frame.columns)),
                           label_names, text=text, template=template, label=label,
                           label_map=label_map, where=str(path))


def column_examples(rows: Sequence[Mapping], columns: Sequence[str],
                    label_names: Sequence[str], *, text: str | None, template: str | None,
                    label: str, label_map: Mapping[str, str | None] | None,
                    where: str) -> list[Example]:
    """Examples from rows by a declared column mapping; every value compared as a string
    (a hub ClassLabel 0 is "0"), so one ``label_map`` works for files and hub datasets."""
    fields = template_fields(template) if template else [text or ""]
    for wanted, role in ((fields, "text"), ([label], "label")):
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise SpecError(f"{where}: no column {', '.join(map(repr, missing))} ({role}); "
                            f"it has columns: {', '.join(columns)}")
    if template:
        texts = [template.format(**{f: str(row[f]) for f in fields}) for row in rows]
    else:
        texts = [str(row[text]) for row in rows]
    classes = _label_indices([str(row[label]) for row in rows], label_names, label_map,
                             Path(where))
    return make_examples((t, c) for t, c in zip(texts, classes, strict=True) if c is not None)
