"""``exit_now``: the command's quick exit still does what an orderly exit does for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROGRAM = """
import atexit, sys, threading, time
from pathlib import Path
from benchmark.core.exiting import exit_now
out = Path(sys.argv[1])
atexit.register(lambda: out.write_text(out.read_text() + "atexit ran\\n"))
out.write_text("")
if sys.argv[2] == "thread":  # a non-daemon thread still writing: the exit waits for it
    def late():
        time.sleep(0.3)
        out.write_text(out.read_text() + "thread finished\\n")
    threading.Thread(target=late).start()
sys.stdout.write("buffered, no newline")
exit_now(3)
"""


def _run(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess, str]:
    out = tmp_path / f"{mode}.txt"
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(out), mode], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    return done, out.read_text()


def test_the_exit_code_output_and_atexit_handlers_survive_the_quick_exit(tmp_path):
    done, written = _run(tmp_path, "plain")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"
    assert written == "atexit ran\n"


def test_a_running_thread_gets_the_ordinary_exit(tmp_path):
    done, written = _run(tmp_path, "thread")
    assert done.returncode == 3
    assert written == "thread finished\natexit ran\n"
