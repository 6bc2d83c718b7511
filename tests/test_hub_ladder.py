"""The paper-scale ladder and hub pins: per-model recipes, pinned commits only, `w2s-bench pin`."""

from __future__ import annotations

import pytest

from benchmark.assets import hub_pins
from benchmark.cli.main import main
from benchmark.core.errors import SpecError
from benchmark.models.encoders import checkpoint_of
from benchmark.models.hub_ladder import LADDER, read_ladder
from benchmark.models.ladder import ENCODERS, MODELS

COMMIT_A = "a" * 40
COMMIT_B = "b" * 40


@pytest.fixture()
def pins_file(tmp_path, monkeypatch):
    path = tmp_path / "hub_pins.yaml"
    monkeypatch.setattr(hub_pins, "PINS_FILE", path)
    return path


def test_ladder_covers_the_families_with_the_original_recipe() -> None:
    families = {r.family for _, r in LADDER.items()}
    assert {"gpt2", "qwen", "qwen2.5", "pythia"} <= families
    sizes = [LADDER.get(n).params for n in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")]
    assert sizes == sorted(sizes)
    # openai/weak-to-strong: 5e-5 for gpt2 and -medium, 1e-5 above; xl checkpoints, eval 2
    assert LADDER.get("gpt2").lr == LADDER.get("gpt2-medium").lr == 5e-5
    assert LADDER.get("gpt2-large").lr == 1e-5
    xl = LADDER.get("gpt2-xl")
    assert xl.gradient_checkpointing and xl.eval_batch_size == 2
    assert LADDER.get("qwen-7b").trust_remote_code
    for name, rung in LADDER.items():  # every rung is nameable in a task and loadable
        assert MODELS.get(name).tier == "paper" and ENCODERS.get(name).hub_id == rung.hub_id
        assert rung.revision is None or rung.revision_source


def test_a_pinned_rung_loads_at_its_commit_and_an_unpinned_one_refuses(pins_file) -> None:
    gpt2 = LADDER.get("gpt2")
    assert checkpoint_of(ENCODERS.get("gpt2")) == (gpt2.hub_id, gpt2.revision)
    unpinned = next(n for n, r in LADDER.items() if not r.pinned)
    with pytest.raises(SpecError, match=f"w2s-bench pin {unpinned}"):
        checkpoint_of(ENCODERS.get(unpinned))


def test_the_pins_file_pins_an_unpinned_rung_and_bad_pins_are_refused(pins_file) -> None:
    hub_pins.write_pin("models", "pythia-70m", "EleutherAI/pythia-70m", COMMIT_A, "t")
    rung = next(r for r in read_ladder() if r.name == "pythia-70m")
    assert rung.revision == COMMIT_A and "hub_pins" in (rung.revision_source or "")
    # a pin recorded for another repo does not apply
    hub_pins.write_pin("models", "pythia-160m", "someone/else", COMMIT_B, "t")
    assert next(r for r in read_ladder() if r.name == "pythia-160m").revision is None
    with pytest.raises(SpecError, match="40-hex"):
        hub_pins.write_pin("models", "pythia-1b", "EleutherAI/pythia-1b", "main", "t")
    pins_file.write_text(pins_file.read_text().replace(COMMIT_A, "main"))
    with pytest.raises(SpecError, match="not a 40-hex commit"):
        hub_pins.read_pins()


def test_pin_verb_asks_the_hub_once_and_keeps_existing_pins(pins_file, monkeypatch,
                                                            capsys) -> None:
    asked = []

    class FakeApi:
        def model_info(self, repo):
            asked.append(repo)
            return type("Info", (), {"sha": COMMIT_B})()

        def dataset_info(self, repo):
            asked.append(repo)
            return type("Info", (), {"sha": COMMIT_A})()

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    assert main(["pin", "pythia-70m", "gpt2", "sciq"]) == 0
    assert asked == ["EleutherAI/pythia-70m", "allenai/sciq"]  # gpt2 is pinned already
    pins = hub_pins.read_pins()
    assert pins["models"]["pythia-70m"]["revision"] == COMMIT_B
    assert pins["datasets"]["sciq"]["revision"] == COMMIT_A
    from benchmark.datasets.hub import HUB_DATASETS, check_revision

    assert check_revision(HUB_DATASETS.get("sciq"), None) == COMMIT_A
    assert main(["pin", "pythia-7m"]) == 2
    assert "did you mean" in capsys.readouterr().err.lower()
