"""Share a reproduction's weak labels, so every reproduction trains on the same supervision.

The labels of a study are its ground-truth runs: each record plus the label file it hashes.
``push_labels`` uploads them as one bundle to a hub dataset repo and writes
``benchmark/reproductions/<tag>.hub.json`` (repo, the commit the upload made, every file's
sha256); commit that file. ``pull_labels`` downloads exactly that commit (from the local hub
cache under ``HF_HUB_OFFLINE=1``), checks every file against the pin before anything is
written, and installs the label files, then the records that point at them, into
``RESULTS/<tag>/``. A later ``reproduce`` then finds every ground-truth run recorded and only
trains the transfer runs, on those labels.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from benchmark.core.errors import SpecError
from benchmark.core.storage import atomic_write_bytes, atomic_write_json
from benchmark.labels.hub import HubPin, download_bundle, upload_bundle
from benchmark.paper.records import read_repro_record
from benchmark.paper.study import DATA, PlannedRun, record_path

RECORDS, LABELS = "records", "weak_labels"


def pin_path(tag: str) -> Path:
    return DATA / f"{tag}.hub.json"


def push_labels(results: Path, tag: str, runs: list[PlannedRun], repo_id: str,
                token: str | None = None) -> HubPin:
    """Upload the recorded ground-truth runs of ``runs`` and their label files; pin them."""
    recorded = [r for r in runs if r.kind == "ground-truth" and record_path(results, r, tag)
                .is_file()]
    if not recorded:
        raise SpecError(f"no ground-truth records under {results / tag} to push; run "
                        "`w2s-bench reproduce` first")
    staging = Path(tempfile.mkdtemp(prefix=f".{tag}-labels."))
    try:
        for run in recorded:
            path = record_path(results, run, tag)
            labels = read_repro_record(path).weak_labels
            assert labels is not None  # a ground-truth record always names its labels
            label = results / labels.path
            for folder, source in ((RECORDS, path), (LABELS, label)):
                (staging / folder).mkdir(exist_ok=True)
                shutil.copyfile(source, staging / folder / source.name)
        revision, files = upload_bundle(staging, tag, repo_id,
                                        f"{tag}: weak labels of {len(recorded)} rungs", token)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    pin = HubPin(task=tag, repo_id=repo_id, revision=revision, files=files)
    atomic_write_json(pin_path(tag), pin.model_dump(mode="json"))
    return pin


def pull_labels(results: Path, tag: str) -> int:
    """Install the pinned bundle into ``results/<tag>/``; returns how many runs it holds."""
    path = pin_path(tag)
    if not path.is_file():
        raise SpecError(f"no shared weak labels for {tag!r} ({path} is missing); whoever ran "
                        f"the ground-truth runs shares them with `--push-labels OWNER/NAME`")
    pin = HubPin.model_validate(json.loads(path.read_text()))
    source = download_bundle(pin)  # every file verified before anything is installed
    names = sorted(pin.files)
    for name in [n for n in names if n.startswith(f"{LABELS}/")]:  # labels before records
        atomic_write_bytes(results / tag / name, (source / name).read_bytes())
    records = [n for n in names if n.startswith(f"{RECORDS}/")]
    for name in records:
        atomic_write_bytes(results / tag / Path(name).name, (source / name).read_bytes())
    return len(records)
