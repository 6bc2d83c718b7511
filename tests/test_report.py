"""The run report: the one format a run's output crosses the sandbox in, read as data."""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.run.report import (
    MAGIC,
    ReportedCompute,
    ReportedError,
    ReportError,
    RunOutput,
    decode,
    encode,
    failed_output,
    max_frame_bytes,
)

PROBS = np.array([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]])


def frame(header: dict, body: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return MAGIC + struct.pack(">I", len(text)) + text + body


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_a_report_round_trips_exactly() -> None:
    output = RunOutput(probs=PROBS, version="2", config={"lr": 0.1, "layers": [1, 2]},
                       compute=ReportedCompute(train_flops=10.0, infer_flops=1.0,
                                               examples_seen=3, trained_params=4, wall_s=0.5,
                                               cpu_s=0.4, peak_rss_mb=100.0),
                       torch_threads=1, hardware={"cpu": "x"}, token="abc")
    back = decode(encode(output), 3, 2)
    assert np.array_equal(back.probs, PROBS) and back.probs.dtype == np.float64
    assert (back.version, back.config, back.token, back.hardware) == (
        "2", {"lr": 0.1, "layers": [1, 2]}, "abc", {"cpu": "x"})
    assert back.compute == output.compute and back.ok
    failed = decode(encode(failed_output("Timeout", "too slow", "last line")), 3, 2)
    assert failed.error == ReportedError(type="Timeout", message="too slow",
                                         log_tail="last line")
    assert failed.probs is None


class Boom:
    def __reduce__(self):
        return (print, ("unpickled!",))


@pytest.mark.parametrize("data, reason", [
    (pickle.dumps(Boom()), "not a W2S-Bench run report"),
    (len(pickle.dumps(Boom())).to_bytes(4, "big") + pickle.dumps(Boom()),
     "not a W2S-Bench run report"),
    (frame({"has_probs": True}, npy(np.array([[Boom(), 1]], dtype=object), True)),
     "not a plain .npy array"),
    (frame({"has_probs": True}, npy(PROBS[:2])), "shape (2, 2)"),
    (frame({"has_probs": True}, npy(np.array([["a", "b"]] * 3))), "floating-point"),
    (frame({"has_probs": True}, npy(np.array([[np.nan, 1.0]] * 3))), "NaN"),
    (frame({"has_probs": False, "sandbox": "bwrap"}), "`sandbox`"),
    (frame({"has_probs": False, "error": {"type": "X", "message": "m" * 30_000}}),
     "error.message"),
    (frame({"has_probs": True}, npy(PROBS)) + frame({"has_probs": True}, npy(PROBS)),
     "more than one report"),
    (frame({"has_probs": False}) + b"junk", "4 bytes follow the report"),
    (MAGIC + struct.pack(">I", 10**9), "claims 1000000000 bytes"),
    (MAGIC + b"\x00", "cut short"),
])
def test_what_is_not_one_well_formed_report_is_refused(data: bytes, reason: str,
                                                       capsys) -> None:
    with pytest.raises(ReportError) as caught:
        decode(data, 3, 2)
    assert reason in str(caught.value), str(caught.value)
    assert "unpickled!" not in capsys.readouterr().out


def test_a_report_larger_than_its_shape_can_need_is_refused_unread() -> None:
    data = frame({"has_probs": False}) + b" " * max_frame_bytes(3, 2)
    with pytest.raises(ReportError, match="over the"):
        decode(data, 3, 2)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.booleans())
def test_no_byte_string_makes_the_reader_fail_otherwise(data: bytes, prefixed: bool) -> None:
    """Whatever a run writes, the reader either returns a report or says why not."""
    payload = MAGIC + data if prefixed else data
    with contextlib.suppress(ReportError):
        decode(payload, 3, 2)
