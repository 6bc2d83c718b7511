"""Flag submission code that imports anything of the harness beyond the plugin API.

An allow-list, not a deny-list: a plugin may import ``benchmark.api`` (and its submodules),
its own files, the baselines and third-party packages; any other module of ``benchmark`` is
flagged, whatever it is called or re-exported as (a deny-list of gold-label loaders missed
``benchmark.reproduce_run.dataset_splits`` and ``from benchmark.verify import Harness``).
Hugging Face ``datasets`` is flagged too: it loads raw labelled corpora. Every ``.py`` file
of a submission is parsed; static imports and ``importlib.import_module`` / ``__import__``
with a literal name are reported with file, line and why. ``w2s-bench verify`` fails on a
flag; ``list methods`` and ``run`` warn. The import contracts hold baselines to the same rule.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PUBLIC_API = "benchmark.api"
HARNESS = "benchmark"
RAW_DATA = {"datasets": "Hugging Face datasets loads the raw labelled corpora"}


@dataclass(frozen=True)
class Flag:
    file: Path
    line: int
    module: str
    why: str

    def __str__(self) -> str:
        what = "has" if self.module == "(a string)" else "imports"
        return f"{self.file}:{self.line} {what} {self.module} ({self.why})"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def refusal(module: str) -> str | None:
    """Why a plugin may not import ``module``, or None when it may."""
    if _within(module, PUBLIC_API):
        return None
    if _within(module, HARNESS):
        return (f"only {PUBLIC_API} is public to plugins; the rest of {HARNESS} is the "
                "harness, which holds gold labels")
    for name, why in RAW_DATA.items():
        if _within(module, name):
            return why
    return None


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == HARNESS:  # ``from benchmark import X``: X is the module
                found += [(node.lineno, f"{HARNESS}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
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
        why = refusal(module)
        if why:
            flags.append(Flag(path, line, module, why))
    return sorted(set(flags), key=lambda f: (str(f.file), f.line, f.module))


def task_secrets() -> dict[str, str]:
    """Each string a task's kinds keep from methods (a sandbagging task's trigger), lower-
    cased → the task. A method must do without it; the task files are public, so the scan
    looks for it."""
    from benchmark.core.kinds import declared_kinds
    from benchmark.tasks.spec import TASKS

    return {secret.lower(): name for name, spec in TASKS.items()
            for kind in declared_kinds(spec) for secret in kind.secrets(spec)}


def scan_triggers(path: Path, triggers: dict[str, str]) -> list[Flag]:
    """Lines of ``path`` holding a task's secret (``triggers``), as written or reversed."""
    try:
        lines = path.read_text(encoding="utf-8").lower().splitlines()
    except (UnicodeDecodeError, OSError):
        return []
    return [Flag(path, number, "(a string)", f"holds what task {task!r} keeps from methods "
                 "(a sandbagging trigger): a method must do without it")
            for number, line in enumerate(lines, 1)
            for trigger, task in triggers.items() if trigger in line or trigger[::-1] in line]


def scan_submission(folder: Path) -> list[Flag]:
    triggers = task_secrets()
    return [flag for path in sorted(folder.rglob("*.py"))
            for flag in scan_file(path) + scan_triggers(path, triggers)]
