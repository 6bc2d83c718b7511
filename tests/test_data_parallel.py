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
