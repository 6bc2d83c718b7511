"""Method discovery: ``baselines/*.py``, ``submissions/<name>/method.py``, and entry points.

Baselines are written exactly as submissions are, so one mechanism loads both. Installed
packages may also expose methods under the ``w2s_bench.methods`` entry-point group.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib import metadata
from typing import TYPE_CHECKING

from benchmark.errors import SpecError
from benchmark.paths import baselines_dir, submissions_dir

if TYPE_CHECKING:
    from benchmark.methods import Method
    from benchmark.registry import Registry

ENTRY_POINT_GROUP = "w2s_bench.methods"


def _import_file(module_name: str, path) -> None:
    """(Re-)execute a plugin file; discovery runs once per registry load."""
    sys.modules.pop(module_name, None)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot import method plugin {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise SpecError(f"method plugin {path} failed to import: "
                        f"{type(exc).__name__}: {exc}") from exc


def discover_methods(registry: Registry[type[Method]]) -> None:
    for path in sorted(baselines_dir().glob("*.py")):
        if not path.name.startswith("_"):
            _import_file(f"baselines.{path.stem}", path)
    for path in sorted(submissions_dir().glob("*/method.py")):
        _import_file(f"w2s_submissions.{path.parent.name.replace('-', '_')}", path)
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        if isinstance(loaded, type) and entry.name not in registry:
            registry.add(entry.name, loaded, origin=f"entry point {entry.value}")
