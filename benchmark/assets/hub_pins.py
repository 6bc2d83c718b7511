"""Pinned hub revisions: which commit of each hub model and dataset W2S-Bench loads.

A branch name such as ``main`` moves, so nothing is loaded from the hub at one: every hub
model (the paper-scale ladder) and hub dataset is read at a 40-hex commit. Pins that the team
could confirm from a public source ship in the ladder itself; the rest are written here, in
``benchmark/hub_pins.yaml``, by ``w2s-bench pin`` on a machine with hub access (it asks the
hub which commit ``main`` points at now, once, and records it). Commit the file: the pin
then holds for everyone, and a task that names a pinned model hashes the pin, so re-pinning
invalidates the weak labels frozen against the old weights.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from benchmark.core.errors import SpecError
from benchmark.core.storage import atomic_write_text

COMMIT = re.compile(r"^[0-9a-f]{40}$")
PINS_FILE = Path(__file__).parent / "hub_pins.yaml"
Kind = Literal["models", "datasets"]


def pins_path() -> Path:
    return PINS_FILE


def read_pins(path: Path | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """``{"models": {name: {hub_id, revision, ...}}, "datasets": {...}}`` (empty if no file)."""
    path = path or pins_path()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    raw = raw or {}
    pins = {"models": dict(raw.get("models") or {}), "datasets": dict(raw.get("datasets") or {})}
    for kind, entries in pins.items():
        for name, entry in entries.items():
            if not COMMIT.match(str(entry.get("revision", ""))):
                raise SpecError(f"{path}: {kind} pin {name!r} has revision "
                                f"{entry.get('revision')!r}, not a 40-hex commit; rerun "
                                f"`w2s-bench pin {name}` or fix the file")
    return pins


def pinned_revision(kind: Kind, name: str, hub_id: str) -> str | None:
    """The pinned commit of ``name`` from the pins file, if it pins this hub id."""
    entry = read_pins()[kind].get(name)
    if entry and entry.get("hub_id") == hub_id:
        return str(entry["revision"])
    return None


def resolve_main(kind: Kind, hub_id: str) -> str:
    """The commit ``main`` points at on the hub now (needs hub access)."""
    from huggingface_hub import HfApi

    api = HfApi()
    info = api.model_info(hub_id) if kind == "models" else api.dataset_info(hub_id)
    sha = getattr(info, "sha", None)
    if not sha or not COMMIT.match(sha):
        raise SpecError(f"the hub returned no commit for {hub_id!r} (got {sha!r})")
    return sha


def write_pin(kind: Kind, name: str, hub_id: str, revision: str, source: str,
              path: Path | None = None) -> None:
    """Record one pin (atomically, keeping every other pin)."""
    if not COMMIT.match(revision):
        raise SpecError(f"{revision!r} is not a 40-hex commit")
    path = path or pins_path()
    pins = read_pins(path)
    pins[kind][name] = {"hub_id": hub_id, "revision": revision, "source": source,
                        "pinned_on": _dt.date.today().isoformat()}
    header = ("# Written by `w2s-bench pin`: the hub commit each model and dataset is loaded\n"
              "# at. Commit this file; see benchmark/assets/hub_pins.py.\n")
    body: dict[str, Any] = {k: dict(sorted(v.items())) for k, v in pins.items()}
    atomic_write_text(path, header + yaml.safe_dump(body, sort_keys=False))


def unpinned_error(what: str, name: str, hub_id: str) -> SpecError:
    return SpecError(
        f"{what} {name!r} ({hub_id}) has no pinned revision, and W2S-Bench never loads a moving "
        f"branch. On a machine with hub access run `w2s-bench pin {name}` (it records the "
        f"current commit in benchmark/hub_pins.yaml; commit that file), or point the loader "
        f"at a local copy.")
