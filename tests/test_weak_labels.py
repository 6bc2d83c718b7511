from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmark.core.errors import IntegrityError, SpecError
from benchmark.labels.frozen import (
    load_references,
    load_weak_labels,
    replicate_file,
)
from benchmark.labels.replicate_csv import decode_replicate, encode_replicate


def test_encoding_is_deterministic_and_round_trips() -> None:
    ids = {"A": ["a1", "a2"], "B": ["b1"], "test": ["t1", "t2"]}
    probs = {"B": np.array([[0.25, 0.75]]), "test": np.array([[0.5, 0.5], [0.9, 0.1]])}
    blob = encode_replicate(ids, probs)
    assert blob == encode_replicate(ids, probs)  # no timestamps inside
    got_ids, got_probs = decode_replicate(blob, "x")
    assert got_ids == ids
    np.testing.assert_allclose(got_probs["test"], probs["test"])


def test_frozen_files_hold_no_text_and_no_gold(tiny_world, tiny_task) -> None:
    weak = load_weak_labels(tiny_task, 0)
    assert len(weak.ids_B) == 240 and weak.train_weak_probs.shape == (240, 2)
    raw = (tiny_world.frozen / replicate_file(0)).read_bytes()
    import gzip

    text = gzip.decompress(raw).decode()
    assert text.splitlines()[0] == "id,split,p0,p1"
    assert "film" not in text and "label" not in text


def test_a_changed_byte_is_refused(tiny_world, tiny_task) -> None:
    path = tiny_world.frozen / replicate_file(1)
    original = path.read_bytes()
    try:
        data = bytearray(original)
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(IntegrityError, match=r"does not match its lock: expected sha256 "
                                                 r"[0-9a-f]{64}, got [0-9a-f]{64}.*git checkout"):
            load_weak_labels(tiny_task, 1)
        load_weak_labels(tiny_task, 0)  # the other replicate is untouched and still loads
    finally:
        path.write_bytes(original)
    assert load_weak_labels(tiny_task, 1).replicate == 1


def test_tampered_references_are_refused(tiny_world, tiny_task) -> None:
    path = tiny_world.frozen / "references.json"
    original = path.read_text()
    try:
        path.write_text(original.replace('"ceiling_accuracy": 0.', '"ceiling_accuracy": 0.9', 1))
        with pytest.raises(IntegrityError, match="references.json does not match its lock"):
            load_references(tiny_task)
    finally:
        path.write_text(original)


def test_editing_a_frozen_task_is_detected(tiny_world, tiny_task) -> None:
    changed = tiny_task.model_copy(update={"seed": 7})
    with pytest.raises(IntegrityError, match=r"changed since its weak labels were frozen.*"
                                             r"bump `version`"):
        load_weak_labels(changed, 0)


def test_refreezing_needs_force_and_is_reproducible(tiny_world, tiny_task, tmp_path) -> None:
    from benchmark.labels.freeze import freeze_task

    with pytest.raises(SpecError, match="already frozen.*--force"):
        freeze_task(tiny_task, progress=False, legacy=True)
    backup = tmp_path / "frozen"
    shutil.copytree(tiny_world.frozen, backup)
    try:
        freeze_task(tiny_task, force=True, progress=False, legacy=True)
        for original in backup.iterdir():  # same seed, same machine: byte-identical files
            assert (tiny_world.frozen / original.name).read_bytes() == original.read_bytes()
    finally:
        shutil.rmtree(tiny_world.frozen)
        shutil.copytree(backup, tiny_world.frozen)


def test_missing_frozen_labels_say_how_to_create_them(tiny_world, tiny_task) -> None:
    other = tiny_task.model_copy(update={"id": "never-frozen"})
    with pytest.raises(SpecError, match=r"Run `w2s-bench freeze never-frozen`"):
        load_weak_labels(other, 0)


def test_references_are_sane(tiny_world, tiny_task) -> None:
    refs = load_references(tiny_task)
    assert [r.replicate for r in refs.replicates] == [0, 1]
    for r in refs.replicates:
        assert 0.5 < r.weak_accuracy < 1.0 and r.n_test == 200


@pytest.mark.parametrize("reader", ["verify_frozen", "load_weak_labels"])
def test_a_same_size_rewrite_with_its_mtime_put_back_is_caught(tiny_world, tiny_task, reader):
    """Frozen files are re-hashed only when their stamp (inode, size, mtime, ctime) moved,
    and their verified bytes are served from memory meanwhile; an overwrite that keeps the
    size and restores the mtime still moves ctime, and is refused by the harness's check
    after a run and by the next reader alike, never served from memory."""
    import os

    from benchmark.labels.frozen import verify_frozen

    def read():
        return verify_frozen(tiny_task) if reader == "verify_frozen" else \
            load_weak_labels(tiny_task, 0)

    read()  # hashes the files and remembers their stamps
    read()  # unchanged: passes from the stamps (and memory)
    path = tiny_world.frozen / replicate_file(0)
    before, original = path.stat(), path.read_bytes()
    try:
        data = bytearray(original)
        data[-9] ^= 0xFF
        path.write_bytes(bytes(data))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_size == before.st_size
        with pytest.raises(IntegrityError, match="does not match its lock"):
            read()
    finally:
        path.write_bytes(original)
    read()


def test_a_runs_check_covers_its_replicates_files_and_the_tasks_own(tiny_world, tiny_task):
    """After a run the harness checks the files that run is scored against: the task's own
    (lock, references) and its replicate's. An altered file of that replicate or of the task
    stops it; the other replicate's file is that replicate's runs' to check."""
    from benchmark.labels.frozen import REFERENCES, verify_frozen

    for name, caught_by in ((replicate_file(1), {1}), (REFERENCES, {0, 1})):
        path = tiny_world.frozen / name
        original = path.read_bytes()
        try:
            path.write_bytes(original + b" ")
            for replicate in (0, 1):
                if replicate in caught_by:
                    with pytest.raises(IntegrityError, match="does not match its lock"):
                        verify_frozen(tiny_task, replicate)
                else:
                    verify_frozen(tiny_task, replicate)
            with pytest.raises(IntegrityError):
                verify_frozen(tiny_task)  # the whole task: every file
        finally:
            path.write_bytes(original)
        verify_frozen(tiny_task)


def test_weak_labels_read_twice_are_equal_and_independent(tiny_world, tiny_task):
    first = load_weak_labels(tiny_task, 0)
    first.train_weak_probs[:] = 0  # a caller that writes into its arrays
    again = load_weak_labels(tiny_task, 0)
    assert again.train_weak_probs.sum() > 0 and again.ids_B == first.ids_B
