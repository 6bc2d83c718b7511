"""Records written beside the sweep, not in its way.

Writing a record makes it durable (each file fsynced before its rename), and on a busy
2-core machine a sweep's driver spent about a quarter of its time waiting on those
writes, while workers waited on it for their next run. A :class:`RecordWriter` writes
records in order on one thread of the driver and releases each run's claim once its
record is on disk, so nothing about a record or a claim changes but when it happens. A
write that fails stops the sweep at its next step, with the error; :meth:`flush` waits
for every queued record, and a sweep flushes before it ends, however it ends.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from benchmark.results.records import RunRecord, write_record
from benchmark.run.claims import release
from benchmark.run.spec import RunSpec

QUEUED_MAX = 64  # records waiting at most; the sweep waits when more would


class RecordWriter:
    """One thread writing ``(run, record, predictions)`` in order, then releasing the claim."""

    def __init__(self, results: Path) -> None:
        self.results = results
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[RunSpec, RunRecord, bytes | None] | None] = \
            queue.Queue(QUEUED_MAX)
        self._thread = threading.Thread(target=self._work, name="record-writer", daemon=True)
        self._thread.start()

    def put(self, run: RunSpec, record: RunRecord, predictions: bytes | None) -> None:
        self.check()
        self._queue.put((run, record, predictions))

    def check(self) -> None:
        """Raise the error a write met, if one did."""
        if self.error is not None:
            raise self.error

    def flush(self) -> None:
        """Wait until every queued record is written (or a write has failed)."""
        self._queue.join()
        self.check()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            run, record, predictions = item
            try:
                if self.error is None:  # after a failure nothing more is written
                    write_record(self.results, record, predictions)
            except BaseException as exc:  # noqa: BLE001 - handed to the sweep's thread
                self.error = exc
            finally:
                release(run.path(self.results))  # unwritten, it is the next sweep's to run
                self._queue.task_done()
        self._queue.task_done()
