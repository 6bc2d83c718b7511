"""``w2s-bench weak-labels push/pull``: frozen weak-label sets in a hub dataset repo.

``push`` uploads ``tasks/frozen/<task>/`` to ``<repo>/<task>/`` with huggingface-hub and
writes ``hub.json`` beside the lock: the repo, the commit the upload made, and the sha256 of
every file (``lock.json`` included). ``pull`` downloads exactly that commit (a branch could
move), checks every file against those hashes *before* anything is written into ``tasks/``,
and installs them atomically. With ``HF_HUB_OFFLINE=1`` the download is served from the local
hub cache, so a machine without network access pulls what an earlier download cached.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.storage import atomic_write_json, sha256_file
from benchmark.datasets.hub import COMMIT
from benchmark.labels.frozen import LOCK, task_frozen_dir

HUB_PIN = "hub.json"


class HubPin(BaseModel):
    """Where a task's frozen set lives on the hub, pinned to a commit, with its file hashes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    task: str
    repo_id: str
    revision: str
    files: dict[str, str]  # name -> sha256, lock.json included


def read_pin(task: str) -> HubPin:
    path = task_frozen_dir(task) / HUB_PIN
    if not path.is_file():
        raise SpecError(f"task {task!r} has no {path}; `w2s-bench weak-labels push {task} "
                        "--repo OWNER/NAME` writes it (or copy it from whoever pushed)")
    pin = HubPin.model_validate(json.loads(path.read_text()))
    if not COMMIT.match(pin.revision):
        raise SpecError(f"{path}: revision {pin.revision!r} is not a 40-hex commit")
    return pin


def upload_bundle(folder: Path, path_in_repo: str, repo_id: str, message: str,
                  token: str | None = None) -> tuple[str, dict[str, str]]:
    """Upload every file under ``folder`` (but a ``hub.json``) to ``repo_id/path_in_repo``;
    returns the commit the upload made and each file's sha256 (by relative path)."""
    from huggingface_hub import HfApi

    files = {p.relative_to(folder).as_posix(): sha256_file(p)
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != HUB_PIN}
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    commit = api.upload_folder(folder_path=str(folder), path_in_repo=path_in_repo,
                               repo_id=repo_id, repo_type="dataset", ignore_patterns=[HUB_PIN],
                               commit_message=message)
    return commit.oid, files


def download_bundle(pin: HubPin) -> Path:
    """The pinned commit's ``pin.task/`` folder (from the hub, or the local hub cache under
    ``HF_HUB_OFFLINE=1``), every file checked against the pin before anyone reads it."""
    from huggingface_hub import snapshot_download

    if not COMMIT.match(pin.revision):
        raise SpecError(f"hub pin of {pin.task!r}: revision {pin.revision!r} is not a 40-hex "
                        "commit")
    snapshot = Path(snapshot_download(pin.repo_id, repo_type="dataset", revision=pin.revision,
                                      allow_patterns=[f"{pin.task}/*", f"{pin.task}/**"]))
    source = snapshot / pin.task
    for name, expected in pin.files.items():
        path = source / name
        if not path.is_file():
            raise IntegrityError(f"{pin.repo_id}@{pin.revision[:12]} has no {pin.task}/{name}")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(f"{pin.repo_id}@{pin.revision[:12]}: {pin.task}/{name} has "
                                 f"sha256 {actual}, {HUB_PIN} pins {expected}; nothing was "
                                 "installed. The download or the cache was altered: delete "
                                 "the cached copy and pull again.")
    return source


def push(task: str, repo_id: str, token: str | None = None) -> HubPin:
    folder = task_frozen_dir(task)
    if not (folder / LOCK).is_file():
        raise SpecError(f"task {task!r} is not frozen; run `w2s-bench freeze {task}` first")
    revision, files = upload_bundle(folder, task, repo_id, f"weak labels of {task}", token)
    pin = HubPin(task=task, repo_id=repo_id, revision=revision, files=files)
    atomic_write_json(folder / HUB_PIN, pin.model_dump(mode="json"))
    return pin


def pull(task: str, pin: HubPin | None = None) -> Path:
    """Download the pinned commit's files, verify them, install them; returns the folder."""
    pin = pin or read_pin(task)
    source = download_bundle(pin)
    target = task_frozen_dir(task)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{task}.", dir=target.parent))
    try:
        for name in pin.files:
            shutil.copyfile(source / name, staging / name)
        atomic_write_json(staging / HUB_PIN, pin.model_dump(mode="json"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
