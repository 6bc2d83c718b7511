"""Where each generated page and plot lives inside ``leaderboard/``, from names in records.

Names come from records (methods can be named by any plugin), so file names are slugs: safe
characters only, with a short hash appended whenever a character had to be replaced, so two
different names never share a file.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def slug(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).lstrip(".") or "_"
    if cleaned == name:
        return name
    return f"{cleaned[:60]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def method_page(method: str) -> str:
    return f"methods/{slug(method)}.html"


def task_page(task: str) -> str:
    return f"tasks/{slug(task)}.html"


def plot_file(suite: str, kind: str, part: str = "") -> str:
    return f"plots/{slug(suite)}-{kind}{'-' + slug(part) if part else ''}.svg"
