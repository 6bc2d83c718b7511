"""Hub dataset formatters on rows in each source's schema, and the local-mirror loader."""

from __future__ import annotations

import random

import pytest

from benchmark.core.errors import AssetError, SpecError
from benchmark.datasets import HUB_DATASETS, example_id
from benchmark.datasets.base import Example
from benchmark.datasets.hub import (
    MIRROR_ENV,
    check_revision,
    format_rows,
    load_examples,
    load_rows,
    undersample,
    write_mirror,
)
from tests.hub_fixtures import EXACT, PICKS, ROWS

SEEDS = range(40)


def _format(name: str, row: dict, seed: int) -> tuple[str, int]:
    out = HUB_DATASETS.get(name).formatter(row, random.Random(seed))
    assert out is not None
    return out


def test_every_registered_hub_dataset_has_a_fixture_and_a_check() -> None:
    names = set(HUB_DATASETS.names())
    assert names == set(ROWS)
    checked = set(EXACT) | set(PICKS) | {"anthropic_hh", "anthropic_hh_pairwise",
                                          "anthropic_hh_pairs", "ethics-utilitarianism"}
    assert names == checked
    for name in names:  # the fixture has every column the formatter declares it reads
        assert set(HUB_DATASETS.get(name).fields) <= set(ROWS[name][0]), name


@pytest.mark.parametrize("name", sorted(EXACT))
def test_deterministic_formatters_give_the_exact_text(name: str) -> None:
    assert _format(name, ROWS[name][0], 0) == EXACT[name]


@pytest.mark.parametrize("name", sorted(PICKS))
def test_label_says_whether_the_correct_answer_was_shown(name: str) -> None:
    correct, wrong = PICKS[name]
    labels = set()
    for seed in SEEDS:
        text, label = _format(name, ROWS[name][0], seed)
        shown = max([correct, *wrong], key=text.rfind)  # the answer slot comes last
        assert (shown == correct) == (label == 1), (seed, text)
        labels.add(label)
    assert labels == {0, 1}


def test_openbookqa_shows_answer_text_not_the_letter_for_both_labels() -> None:
    for seed in SEEDS:
        text, _ = _format("openbookqa", ROWS["openbookqa"][0], seed)
        assert text.rsplit("Answer: ", 1)[1] in {"planet", "star", "moon", "comet"}


def test_cosmos_none_of_the_above_true_answer_is_label_0() -> None:
    assert {_format("cosmos_qa", ROWS["cosmos_qa"][1], s)[1] for s in SEEDS} == {0}


def test_anthropic_single_response_shows_one_transcript() -> None:
    row = ROWS["anthropic_hh"][0]
    for seed in SEEDS:
        text, label = _format("anthropic_hh", row, seed)
        assert text == (row["chosen"] if label else row["rejected"])


def test_anthropic_pairwise_shows_dialogue_once_and_both_replies() -> None:
    row = ROWS["anthropic_hh_pairwise"][0]
    labels = set()
    for seed in SEEDS:
        text, label = _format("anthropic_hh_pairwise", row, seed)
        assert text.count("How do I bake bread?") == 1
        first = text.split("Reply 1: ", 1)[1].split("\n\nReply 2:", 1)[0]
        assert (first.startswith("Assistant: Mix flour")) == (label == 1)
        assert "Assistant: Buy some." in text
        labels.add(label)
    assert labels == {0, 1}
    assert HUB_DATASETS.get("anthropic_hh_pairwise").formatter(
        {"chosen": "same", "rejected": "same"}, random.Random(0)) is None


def test_anthropic_pairs_are_two_transcripts_for_a_reward_model() -> None:
    from benchmark.datasets.base import split_pair

    row = ROWS["anthropic_hh_pairs"][0]
    labels = set()
    for seed in SEEDS:
        text, label = _format("anthropic_hh_pairs", row, seed)
        first, second = split_pair(text)
        for transcript in (first, second):   # each holds the dialogue and one reply
            assert transcript.startswith("Human: How do I bake bread?\n\nAssistant: ")
        assert ("Mix flour" in first) == (label == 1) and ("Mix flour" in second) != label
        labels.add(label)
    assert labels == {0, 1} and HUB_DATASETS.get("anthropic_hh_pairs").pairs
    assert HUB_DATASETS.get("anthropic_hh_pairs").formatter(
        {"chosen": "same", "rejected": "same"}, random.Random(0)) is None


def test_ethics_utilitarianism_label_says_the_answer_is_the_more_pleasant() -> None:
    row = ROWS["ethics-utilitarianism"][0]
    for seed in SEEDS:
        text, label = _format("ethics-utilitarianism", row, seed)
        picked = int(text.rsplit("A: ", 1)[1])
        shown = text.split(f"{picked}) ", 1)[1].split("\n", 1)[0].split(" A:", 1)[0]
        assert (shown == row["baseline"]) == (label == 1)


def test_format_rows_is_reproducible_with_hashed_ids() -> None:
    dataset = HUB_DATASETS.get("sciq")
    rows = [dict(ROWS["sciq"][0], question=f"Q{i}?") for i in range(50)]
    first, again = format_rows(dataset, rows, seed=3), format_rows(dataset, rows, seed=3)
    assert first == again
    assert all(e.id == example_id(e.text) for e in first)
    assert format_rows(dataset, rows, seed=4) != first  # the seed drives the answer draws


def test_undersample_balances_keeps_the_minority_and_order() -> None:
    examples = [Example(str(i), f"t{i}", int(i % 4 == 0)) for i in range(40)]  # 10 vs 30
    kept = undersample(examples, seed=0)
    assert sum(e.label for e in kept) == 10 and len(kept) == 20
    assert [e for e in examples if e.label == 1] == [e for e in kept if e.label == 1]
    assert [int(e.id) for e in kept] == sorted(int(e.id) for e in kept)
    assert undersample(examples, seed=0) == kept != undersample(examples, seed=1)
    with pytest.raises(SpecError, match="one class is absent"):
        undersample([e for e in examples if e.label == 0], seed=0)


def test_balanced_source_is_undersampled_when_loaded(tmp_path) -> None:
    dataset = HUB_DATASETS.get("cola")
    rows = [{"sentence": f"s {i}.", "label": int(i < 6), "idx": i} for i in range(20)]
    write_mirror(tmp_path, dataset, "train", rows)
    examples = load_examples("cola", "train", mirror=tmp_path)
    assert sorted(e.label for e in examples) == [0] * 6 + [1] * 6


def test_mirror_loader_reads_jsonl_and_parquet_with_source_types(tmp_path, monkeypatch) -> None:
    import datasets

    boolq = HUB_DATASETS.get("boolq")
    write_mirror(tmp_path, boolq, "test", ROWS["boolq"])  # test -> the validation split
    assert (tmp_path / "google__boolq" / "validation.jsonl").is_file()
    rows = load_rows(boolq, "test", mirror=tmp_path)
    assert rows == ROWS["boolq"] and isinstance(rows[0]["answer"], bool)

    # a config lives in a sub-folder
    folder = tmp_path / "google-research-datasets__paws" / "labeled_final"
    folder.mkdir(parents=True)
    pair = [ROWS["paws"][0], dict(ROWS["paws"][0], sentence2="He ran away.", label=0)]
    datasets.Dataset.from_list(pair).to_parquet(str(folder / "train.parquet"))
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    examples = load_examples("paws", "train")
    assert [(e.text, e.label) for e in examples][0] == EXACT["paws"]
    assert [e.label for e in examples] == [1, 0]


def test_an_unreachable_hub_says_how_to_use_a_mirror(monkeypatch) -> None:
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'Anthropic/hh-rlhf' on the Hub")

    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(AssetError, match=r"W2S_BENCH_HF_MIRROR.*Anthropic__hh-rlhf/train"):
        load_rows(HUB_DATASETS.get("anthropic_hh_pairs"), "train")


def test_mirror_errors_name_the_missing_file_and_columns(tmp_path) -> None:
    dataset = HUB_DATASETS.get("sst2")
    with pytest.raises(AssetError, match=r"stanfordnlp__sst2/validation\.parquet"):
        load_rows(dataset, "test", mirror=tmp_path)
    write_mirror(tmp_path, dataset, "train", [{"text": "no sentence column", "label": 1}])
    with pytest.raises(AssetError, match=r"lacks the columns \['sentence'\]"):
        load_rows(dataset, "train", mirror=tmp_path)
    with pytest.raises(SpecError, match="no split 'validation'; it has test, train"):
        load_rows(dataset, "validation", mirror=tmp_path)


def test_hub_loads_need_a_pinned_commit() -> None:
    dataset = HUB_DATASETS.get("sciq")
    with pytest.raises(SpecError, match="not a pinned 40-hex commit"):
        check_revision(dataset, "main")
    assert check_revision(dataset, "a" * 40) == "a" * 40
