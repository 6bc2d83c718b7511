"""A run's report: the only thing that crosses the sandbox boundary back to the harness.

What a sandboxed process sends is data in a strict format, never a pickle: a frame of

    MAGIC | 4-byte big-endian length of the header | header (JSON) | probabilities (.npy)

The header is validated by a closed schema (:class:`ReportHeader`: plain types, bounded
strings, no unknown keys); the array is read with ``allow_pickle=False`` and must be a 2-D
floating-point array of the shape the run was given, finite, within a size known before
reading. A frame with anything after it (a second report) is refused whole.

The same format carries a run's output on every path: a run's process to its worker, a
worker to the driver (:mod:`benchmark.run.pool`), a cluster job's node runner to the driver
(:mod:`benchmark.run.node`, whatever the engine pickles around it is already these bytes).
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from pydantic_core import PydanticSerializationError

from benchmark.core.curves import MAX_FITS
from benchmark.results.records import TrainingCurve

MAGIC = b"W2S-REPORT-1\n"
HEADER_MAX = 1 << 20            # 1 MiB of JSON: config, error text, log tail, provenance
NPY_OVERHEAD = 1024             # an .npy header is 128 bytes for a plain 2-D array
TEXT_MAX = 20_000


class ReportError(ValueError):
    """A report that is not one well-formed report for the run it claims to be."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportedError(_Strict):
    type: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=TEXT_MAX)
    log_tail: str = Field(default="", max_length=TEXT_MAX)


class ReportedCompute(_Strict):
    """What the run's process counted (forgeable by the method: docs/integrity.md)."""

    train_flops: float = Field(ge=0, allow_inf_nan=False)
    infer_flops: float = Field(ge=0, allow_inf_nan=False)
    examples_seen: int = Field(ge=0)
    trained_params: int = Field(ge=0)
    wall_s: float = Field(ge=0, allow_inf_nan=False)
    cpu_s: float = Field(ge=0, allow_inf_nan=False)
    peak_rss_mb: float = Field(ge=0, allow_inf_nan=False)


class ReportHeader(_Strict):
    """Everything but the probabilities. ``token`` binds a worker's report to the job it was
    given; ``hardware`` is the worker's, never the run's."""

    token: str | None = Field(default=None, max_length=64)
    has_probs: bool
    error: ReportedError | None = None
    version: str | None = Field(default=None, max_length=200)
    config: dict[str, JsonValue] | None = None
    compute: ReportedCompute | None = None
    curves: list[TrainingCurve] | None = Field(default=None, max_length=MAX_FITS)
    torch_threads: int | None = Field(default=None, ge=0, le=4096)
    hardware: dict[str, str | int | float | bool | None] | None = None


@dataclass(frozen=True)
class RunOutput:
    """A run's output as the harness scores it: parsed, validated, plain."""

    probs: np.ndarray | None = None
    error: ReportedError | None = None
    version: str | None = None
    config: dict[str, Any] | None = None
    compute: ReportedCompute | None = None
    curves: list[TrainingCurve] | None = None
    torch_threads: int | None = None
    hardware: dict[str, Any] | None = None
    token: str | None = None
    sandbox: str | None = None     # set harness-side (executor or node runner), never sent
    sandbox_binary: dict[str, str] | None = None  # the bwrap that made it (node runner)
    executor: str | None = None    # set by the sweep
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def but(self, **changes: Any) -> RunOutput:
        return replace(self, **changes)


def failed_output(kind: str, message: str, log_tail: str = "") -> RunOutput:
    """The output of a run that never reported (killed, timed out, lost, refused)."""
    return RunOutput(error=ReportedError(type=kind, message=message[:TEXT_MAX],
                                         log_tail=log_tail[-TEXT_MAX:]))


def check_probs(probs: Any, n_test: int, classes: int) -> np.ndarray:
    """A method's output as a float array, or ValueError saying what is wrong with it."""
    if isinstance(probs, np.ndarray) and probs.dtype == object:
        raise ValueError("fit_predict returned an array of Python objects, not probabilities")
    try:
        array = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"fit_predict returned {type(probs).__name__}, not an array of "
                         "probabilities") from None
    if array.shape != (n_test, classes):
        raise ValueError(f"fit_predict returned shape {array.shape}; expected ({n_test}, "
                         f"{classes}) = (test examples, classes)")
    if not np.isfinite(array).all():
        raise ValueError("fit_predict returned NaN or infinite probabilities")
    if (array < 0).any() or not np.allclose(array.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("fit_predict must return probabilities: non-negative rows summing to 1 "
                         "(apply a softmax)")
    return array


def max_frame_bytes(rows: int, classes: int) -> int:
    """The largest report a run of this shape can send (its probabilities as float64)."""
    return len(MAGIC) + 4 + HEADER_MAX + NPY_OVERHEAD + 8 * max(0, rows) * max(1, classes)


def encode(output: RunOutput) -> bytes:
    """The frame of ``output`` (probabilities as float64 .npy, everything else JSON)."""
    header = ReportHeader(
        token=output.token, has_probs=output.probs is not None,
        error=output.error, version=output.version, config=output.config,
        compute=output.compute, curves=output.curves,
        torch_threads=output.torch_threads, hardware=output.hardware)
    text = header.model_dump_json().encode("utf-8")
    if len(text) > HEADER_MAX:
        raise ReportError(f"the report's header is {len(text)} bytes, over {HEADER_MAX}")
    body = b""
    if output.probs is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(output.probs, dtype=np.float64),
                allow_pickle=False)
        body = buffer.getvalue()
    return MAGIC + struct.pack(">I", len(text)) + text + body


def decode(data: bytes, rows: int, classes: int) -> RunOutput:
    """Parse one frame for a run of ``rows`` test rows and ``classes`` classes, or raise
    ReportError saying what is wrong. Nothing in it is executed or unpickled."""
    limit = max_frame_bytes(rows, classes)
    if len(data) > limit:
        raise ReportError(f"the report is {len(data)} bytes, over the {limit} a run of "
                          f"{rows} x {classes} probabilities can need")
    if not data.startswith(MAGIC):
        raise ReportError("the report is not a W2S-Bench run report (wrong leading bytes; a "
                          "run's output is never unpickled)")
    start = len(MAGIC) + 4
    if len(data) < start:
        raise ReportError("the report is cut short")
    (size,) = struct.unpack(">I", data[len(MAGIC):start])
    if size > HEADER_MAX or start + size > len(data):
        raise ReportError(f"the report's header claims {size} bytes; "
                          f"{len(data) - start} follow")
    try:
        header = ReportHeader.model_validate(json.loads(data[start:start + size]))
        header.model_dump_json()  # what cannot be written back (a lone surrogate) is refused
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReportError(f"the report's header is malformed: `{where}`: {first['msg']}") \
            from None
    except (ValueError, RecursionError, PydanticSerializationError) as exc:
        raise ReportError(f"the report's header is not JSON data ({str(exc)[:200]})") \
            from None
    body = data[start + size:]
    probs, used = _read_probs(body, rows, classes) if header.has_probs else (None, 0)
    if used < len(body):
        rest = body[used:]
        raise ReportError("the run sent more than one report" if rest.startswith(MAGIC)
                          else f"{len(rest)} bytes follow the report")
    return RunOutput(
        probs=probs, error=header.error, version=header.version, config=header.config,
        compute=header.compute, curves=header.curves,
        torch_threads=header.torch_threads, hardware=header.hardware, token=header.token)


def _read_probs(body: bytes, rows: int, classes: int) -> tuple[np.ndarray, int]:
    """The probabilities at the start of ``body``, and how many bytes they took."""
    stream = io.BytesIO(body)
    try:
        array = np.load(stream, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ReportError(f"the report's probabilities are not a plain .npy array ({exc})") \
            from None
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or array.ndim != 2:
        raise ReportError(f"the report's probabilities are {getattr(array, 'dtype', '?')} "
                          f"with {getattr(array, 'ndim', '?')} dimensions; expected a 2-D "
                          "floating-point array")
    if array.shape != (rows, classes):
        raise ReportError(f"the report's probabilities have shape {array.shape}; the run was "
                          f"given ({rows}, {classes})")
    if not np.isfinite(array).all():
        raise ReportError("the report's probabilities hold NaN or infinite values")
    return array.astype(np.float64, copy=False), stream.tell()
