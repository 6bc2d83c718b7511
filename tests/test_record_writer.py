"""Records are written on a thread of the driver: in order, each claim released after its
record, and a failed write stops the sweep with its error without holding any claim."""

from __future__ import annotations

import pytest

from benchmark.run import writer as writer_module
from benchmark.run.claims import claim_path, try_claim
from benchmark.run.spec import RunSpec
from benchmark.run.writer import RecordWriter


def test_records_are_written_in_order_and_a_failed_write_is_the_sweeps_error(
        tmp_path, monkeypatch) -> None:
    written: list[int] = []

    def fake_write(results, record, predictions):
        assert claim_path(RunSpec("s", "t", "m", record).path(results)).exists()  # still held
        if record == 2:
            raise OSError(28, "No space left on device")
        written.append(record)

    monkeypatch.setattr(writer_module, "write_record", fake_write)
    runs = [RunSpec("s", "t", "m", k) for k in range(4)]
    for run in runs:
        assert try_claim(run.path(tmp_path)) is not None
    writer = RecordWriter(tmp_path)
    for run in runs:
        writer.put(run, run.replicate, None)  # a stand-in record: the fake takes its number
    with pytest.raises(OSError, match="No space left"):
        writer.flush()
    writer.close()
    assert written == [0, 1]  # in order; nothing written after the failure
    assert not any(claim_path(run.path(tmp_path)).exists() for run in runs)
    with pytest.raises(OSError):
        writer.put(runs[0], 0, None)  # the error stays the sweep's
