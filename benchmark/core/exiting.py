"""Leaving a process quickly once its work is done and on disk."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` after everything an orderly exit does for the program (its
    ``atexit`` handlers: multiprocessing's clean-up, temporary folders, logging; flushed
    output), skipping only the interpreter's own teardown of its modules and libraries.
    With torch loaded that teardown is slow (torch's static destructors) and writes
    nothing. While a non-daemon thread still runs, the ordinary exit waits for it."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
