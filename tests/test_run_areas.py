"""Run areas after a driver is killed: its runs' scratch folders come back, nothing else is
touched (no bubblewrap needed: the areas are plain folders the driver manages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.run import sandbox
from benchmark.run.sandbox import RunSandbox, move_in
from benchmark.run.spec import SCRATCH


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def _dead_drivers_area(areas: Path, name: str = "x") -> Path:
    area = areas / f"worker-{_dead_pid()}-0badc0de-{name}"
    (area / "run").mkdir(parents=True)
    (area / "run" / "written-by-the-run.txt").write_text("partial work")
    return area


# every note stays inside tmp_path: were the check gone, the test must not delete more
@pytest.mark.parametrize("note", ["", "checkout", "TMP", "TMP/results/.scratch/../..",
                                  "TMP/results/.scratch", "TMP/results/.scratch/s/t/m",
                                  "\udcff"])
def test_a_damaged_note_of_a_dead_driver_never_deletes_anything_outside_its_area(
        tmp_path, monkeypatch, note):
    """A driver SIGKILLed while writing the note of where a run's folder came from left it
    empty; the next driver read it as ".", its working directory (the checkout), and deleted
    it. No note that is not an absolute path inside a results folder's scratch is obeyed."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "README.md").write_text("the front door")
    monkeypatch.chdir(checkout)
    areas = tmp_path / "run-areas"
    area = _dead_drivers_area(areas)
    (areas / f"{area.name}.origin").write_text(note.replace("TMP", str(tmp_path)),
                                               encoding="utf-8", errors="surrogateescape")

    RunSandbox(areas).close()

    assert (checkout / "README.md").read_text() == "the front door"
    assert [p.name for p in tmp_path.iterdir()] == ["checkout"]  # areas and note cleared


def test_a_killed_drivers_run_folder_is_moved_back_for_the_rerun(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    areas = tmp_path / "run-areas"
    scratch = Path("results") / SCRATCH / "suite" / "task" / "method" / "r0"  # relative
    scratch.mkdir(parents=True)
    (scratch / "checkpoint.pt").write_text("epoch 3")
    area = _dead_drivers_area(areas)
    move_in(scratch, area)  # the driver is killed while its worker runs this
    (area / "run" / "checkpoint.pt").write_text("epoch 4")

    RunSandbox(areas).close()

    assert (tmp_path / scratch / "checkpoint.pt").read_text() == "epoch 4"
    assert not areas.exists()  # the dead driver's area and note are cleared


@pytest.mark.parametrize("step", ["atomic_write_text", "_move"])
def test_a_driver_killed_at_either_step_of_moving_in_loses_no_folder(tmp_path, monkeypatch,
                                                                     step):
    """The note is written before the folder moves: a kill at either step leaves the folder
    where it was or a note to bring it back (written after, a kill between the two lost the
    folder with the dead driver's area)."""
    areas = tmp_path / "run-areas"
    scratch = tmp_path / "results" / SCRATCH / "suite" / "task" / "method" / "r0"
    scratch.mkdir(parents=True)
    (scratch / "checkpoint.pt").write_text("epoch 3")
    area = _dead_drivers_area(areas)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("SIGKILL here")

    monkeypatch.setattr(sandbox, step, killed)
    with pytest.raises(KeyboardInterrupt):
        move_in(scratch, area)
    monkeypatch.undo()

    RunSandbox(areas).close()

    assert (scratch / "checkpoint.pt").read_text() == "epoch 3"
    assert not areas.exists()


def test_a_note_half_written_by_a_killed_driver_is_cleared(tmp_path):
    """SIGKILL during the note's atomic write leaves its temporary file (a hidden
    ``.worker-<pid>-….origin.<random>.tmp``): the next driver removes a dead driver's, never
    a live one's."""
    areas = tmp_path / "run-areas"
    area = _dead_drivers_area(areas)
    torn = areas / f".{area.name}.origin.k3j2h1.tmp"
    torn.write_text("/tmp/resu")
    live = areas / f".worker-{os.getpid()}-0badc0de-y.origin.a1b2c3.tmp"
    live.write_text("in progress")

    RunSandbox(areas).close()

    assert not torn.exists() and live.exists()
