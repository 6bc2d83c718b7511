"""Flag submission code that reaches for gold labels outside the method API.

The API never hands a method a gold label, but Python cannot stop a plugin from importing
the harness's own loaders or the raw corpora. This makes that visible instead: every
``.py`` file of a submission is parsed, and imports (static, ``importlib.import_module``
and ``__import__`` with a literal name) of the modules below are reported with file, line
and why. ``w2s-bench verify`` fails on them; ``list methods`` and ``run`` warn.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

GOLD_SOURCES = {
    "benchmark.datasets": "loads the labelled corpora (gold labels)",
    "benchmark.splits": "draws the splits together with their gold labels",
    "benchmark.harness": "the harness process holds every task's gold labels",
    "benchmark.scoring": "scores with gold test labels",
    "benchmark.freeze": "trains the weak model and the ceiling on gold labels",
    "benchmark.supervisors": "fits weak supervisors on gold labels",
    "benchmark.assets": "opens the raw asset files (text with labels)",
    "datasets": "Hugging Face datasets can load the raw labelled data",
}


@dataclass(frozen=True)
class Flag:
    file: Path
    line: int
    module: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module} ({self.why})"


def _forbidden(module: str) -> str | None:
    for name in GOLD_SOURCES:
        if module == name or module.startswith(name + "."):
            return name
    return None


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def scan_file(path: Path) -> list[Flag]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []  # an unparsable plugin is refused at import, with its own message
    flags = []
    for line, module in _imported_modules(tree):
        hit = _forbidden(module)
        if hit:
            flags.append(Flag(path, line, hit, GOLD_SOURCES[hit]))
    return sorted(set(flags), key=lambda f: (str(f.file), f.line, f.module))


def scan_submission(folder: Path) -> list[Flag]:
    return [flag for path in sorted(folder.rglob("*.py")) for flag in scan_file(path)]
