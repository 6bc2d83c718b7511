"""Pulling frozen weak labels from a pre-populated local hub cache, offline, hash-checked."""

from __future__ import annotations

import shutil

import pytest

from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.storage import sha256_file
from benchmark.labels.frozen import load_weak_labels, task_frozen_dir, verify_frozen
from benchmark.labels.hub import HUB_PIN, HubPin, pull, read_pin
from tests.conftest import TINY_TASK

REPO_ID = "w2s-bench/weak-labels"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tiny_world, tmp_path, monkeypatch):
    """A hub cache holding the tiny task's frozen set at REVISION, the hub switched off."""
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hub"
    snapshot = cache / f"datasets--{REPO_ID.replace('/', '--')}" / "snapshots" / REVISION
    frozen = task_frozen_dir(TINY_TASK)
    shutil.copytree(frozen, snapshot / TINY_TASK)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    files = {p.name: sha256_file(p) for p in sorted(frozen.iterdir()) if p.is_file()}
    saved = tmp_path / "saved-frozen"
    shutil.copytree(frozen, saved)
    yield snapshot / TINY_TASK, HubPin(task=TINY_TASK, repo_id=REPO_ID, revision=REVISION,
                                       files=files)
    shutil.rmtree(frozen)
    shutil.copytree(saved, frozen)


def test_pull_installs_the_pinned_commit_from_the_offline_cache(offline_cache, tiny_task):
    _, pin = offline_cache
    shutil.rmtree(task_frozen_dir(TINY_TASK))  # a fresh clone: no frozen files yet
    folder = pull(TINY_TASK, pin)
    assert read_pin(TINY_TASK) == pin and (folder / HUB_PIN).is_file()
    verify_frozen(tiny_task)  # the lock's own hashes hold too
    assert len(load_weak_labels(tiny_task, 0).ids_B) == 240


def test_tampered_cache_is_refused_and_nothing_is_installed(offline_cache):
    cached, pin = offline_cache
    before = {p.name: p.read_bytes() for p in task_frozen_dir(TINY_TASK).iterdir()}
    (cached / "references.json").write_text("{}")
    with pytest.raises(IntegrityError, match="references.json has sha256 .* nothing was "
                                             "installed"):
        pull(TINY_TASK, pin)
    assert {p.name: p.read_bytes() for p in task_frozen_dir(TINY_TASK).iterdir()} == before


def test_unpinned_or_missing_revision_is_refused(offline_cache, tiny_world):
    _, pin = offline_cache
    with pytest.raises(SpecError, match="weak-labels push"):
        read_pin(TINY_TASK)
    path = task_frozen_dir(TINY_TASK) / HUB_PIN
    path.write_text(pin.model_copy(update={"revision": "main"}).model_dump_json())
    with pytest.raises(SpecError, match="not a 40-hex commit"):
        read_pin(TINY_TASK)
    path.unlink()
