"""Data parallelism in the shared finetune trainer: two CPU ranks (gloo, through
``torch.distributed.run`` and accelerate) train one model as a single process would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_lms import build_tiny_lm

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("ddp") / "gpt2", "gpt2")


def _launch(model: Path, out: Path, ranks: int) -> list[dict]:
    out.mkdir(parents=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={ranks}", "-m", "tests.ddp_train", str(model), str(out)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(ranks)]


def test_two_ranks_train_one_model_like_a_single_process(gpt2: Path, tmp_path: Path) -> None:
    single = _launch(gpt2, tmp_path / "single", 1)[0]
    ranks = _launch(gpt2, tmp_path / "ddp", 2)
    assert [r["world"] for r in ranks] == [2, 2] and single["world"] == 1
    # the ranks stay in lockstep: same weights, same predictions
    assert ranks[0]["weights_sum"] == pytest.approx(ranks[1]["weights_sum"], rel=1e-6)
    np.testing.assert_allclose(ranks[0]["probs"], ranks[1]["probs"], atol=1e-6)
    # each global batch of 16 is split 8 + 8: same steps, schedule and examples as one process
    assert [r["steps"] for r in ranks] == [single["steps"]] * 2 == [2 * 13] * 2
    assert [r["examples"] for r in ranks] == [single["examples"]] * 2 == [400] * 2
    # ... and the same model, up to float summation order
    np.testing.assert_allclose(ranks[0]["probs"], single["probs"], atol=2e-2)
    assert ranks[0]["accuracy"] > 0.8
    # one writer for checkpoints
    assert len(list((tmp_path / "ddp" / "checkpoints").glob("*/finetune-checkpoint.pt"))) == 1


def test_reproduce_under_torchrun_trains_on_every_rank_and_writes_once(tmp_path: Path) -> None:
    import copy

    from benchmark.datasets.hub import HUB_DATASETS, write_mirror
    from benchmark.paper.study import load_study, plan, record_path
    from tests.hub_fixtures import sciq_rows
    from tests.tiny_lms import tiny_rungs

    rungs = tiny_rungs(tmp_path / "rungs")
    study = copy.deepcopy(load_study("burns2023"))
    study.update(ladder=[r.name for r in rungs], datasets={"sciq": 20},
                 ground_truth_accuracy={"sciq": [0.6, 0.7]},
                 median_pgr={"sciq": {"xent": 0.3, "logconf": 0.3}})
    study["recipe"].update(n_docs=40, n_test_docs=24, epochs=1, batch_size=8, max_ctx=64)
    mirror = tmp_path / "mirror"
    write_mirror(mirror, HUB_DATASETS.get("sciq"), "train", sciq_rows(60, 0))
    write_mirror(mirror, HUB_DATASETS.get("sciq"), "test", sciq_rows(30, 1))
    out = tmp_path / "out"
    out.mkdir()
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"rungs": [r.model_dump() for r in rungs], "study": study,
                                "mirror": str(mirror), "out": str(out)}))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc_per_node=2", "-m", "tests.ddp_reproduce", str(spec)],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    for rank in (0, 1):  # (done, cached, failed): both ranks ran all four runs
        assert json.loads((out / f"rank{rank}.json").read_text()) == [4, 0, []]
    from benchmark.models.hub_ladder import register_rung, unregister_rung

    for rung in rungs:
        register_rung(rung)
    try:
        runs = plan(study)
    finally:
        for rung in rungs:
            unregister_rung(rung.name)
    records = [json.loads(record_path(out / "results", r).read_text()) for r in runs]
    assert records[2]["weak_labels_sha256"] == records[0]["weak_labels"]["sha256"]
    assert all(0 <= r["accuracy"] <= 1 for r in records)
