"""The finetune trainer on tiny GPT-2 and Qwen2 models built from config and saved locally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.finetune.batching import batch_plan, encode
from benchmark.finetune.classifier import last_token_index, load_classifier
from benchmark.finetune.trainer import FinetuneConfig, predict_proba, train_classifier
from benchmark.training.probe import one_hot, soft_cross_entropy
from tests.conftest import make_corpus
from tests.tiny_lms import build_tiny_lm

CORPUS = make_corpus(600)
TEXTS = [t for t, _ in CORPUS]
LABELS = np.array([y for _, y in CORPUS])
FAST = FinetuneConfig(epochs=3, lr=3e-3, batch_size=32, max_ctx=64)


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("lms")
    return {arch: build_tiny_lm(base / arch, arch) for arch in ("gpt2", "qwen2")}


def _train(path: Path, config: FinetuneConfig = FAST, seed: int = 0, n: int = 400, **kwargs):
    tokenizer, model = load_classifier(path, lora_rank=kwargs.pop("lora_rank", None),
                                       gradient_checkpointing=kwargs.pop("gc", False))
    stats = train_classifier(model, tokenizer, TEXTS[:n], one_hot(LABELS[:n], 2), config, seed,
                             soft_cross_entropy, **kwargs)
    return tokenizer, model, stats


@pytest.mark.parametrize("arch", ["gpt2", "qwen2"])
def test_finetune_learns_and_accounts_compute(lms: dict[str, Path], arch: str) -> None:
    tokenizer, model, stats = _train(lms[arch])
    probs, truncated = predict_proba(model, tokenizer, TEXTS[400:], FAST)
    assert probs.shape == (200, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert (probs.argmax(1) == LABELS[400:]).mean() > 0.9
    assert stats.losses[0] == pytest.approx(np.log(2), abs=1e-6)  # zero-initialised head
    assert stats.losses[-1] < 0.3
    assert stats.steps == 3 * 13 and stats.examples_seen == 3 * 400 and truncated == 0
    assert 0 < stats.tokens_seen <= stats.padded_tokens
    # measured FLOPs of a step, scaled by tokens, agree with 6·N·D plus Kaplan et al.'s
    # attention term 12·layers·width·context per token (context: the mean padded width)
    config = model.backbone.config
    width = stats.padded_tokens / stats.examples_seen
    expected = stats.flops_6nd + 12 * config.num_hidden_layers * config.hidden_size * width \
        * stats.padded_tokens
    assert 0.85 < stats.train_flops / expected < 1.15


def test_head_reads_the_last_real_token_whatever_the_padding(lms: dict[str, Path]) -> None:
    tokenizer, model = load_classifier(lms["gpt2"])
    torch.nn.init.normal_(model.head.weight)
    model.eval()
    ids = tokenizer(["the film was great", "dull"])["input_ids"]
    alone = [model(torch.tensor([x]), torch.ones(1, len(x), dtype=torch.long)) for x in ids]
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    right = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
    batched = model(right, mask)
    for i in range(2):
        assert torch.allclose(batched[i], alone[i][0], atol=1e-5)
    assert last_token_index(torch.tensor([[1, 1, 0], [0, 1, 1], [1, 1, 1]])).tolist() == [1, 2, 2]


def test_truncation_is_counted_and_keeps_the_end(lms: dict[str, Path]) -> None:
    tokenizer, _ = load_classifier(lms["gpt2"])
    long = " ".join(["the film"] * 40) + " great"
    encoded = encode(tokenizer, [long, "dull", long], max_ctx=16)
    assert encoded.truncated == 2 and max(encoded.lengths) == 16
    assert tokenizer.decode(encoded.ids[0]).endswith("great")
    _, _, stats = _train(lms["gpt2"], FinetuneConfig(epochs=1, max_ctx=8), n=64)
    assert stats.truncated == sum(len(x) > 8 for x in tokenizer(TEXTS[:64])["input_ids"]) > 0


def test_batch_plan_uses_every_row_once_in_length_buckets() -> None:
    lengths = np.random.default_rng(0).integers(1, 100, size=1000)
    plan = batch_plan(lengths, 32, seed=1, epoch=0, bucket_batches=4)
    rows = np.concatenate(plan)
    assert sorted(rows.tolist()) == list(range(1000))
    assert all(np.all(np.diff(lengths[b]) >= 0) for b in plan)
    padded = sum(len(b) * lengths[b].max() for b in plan)
    assert padded < 1.3 * lengths.sum()  # bucketing keeps padding low
    again = batch_plan(lengths, 32, seed=1, epoch=0, bucket_batches=4)
    assert all(np.array_equal(a, b) for a, b in zip(plan, again, strict=True))
    other = batch_plan(lengths, 32, seed=1, epoch=1, bucket_batches=4)
    assert not np.array_equal(np.concatenate(other), rows)


def test_same_seed_same_probabilities(lms: dict[str, Path]) -> None:
    runs = []
    for _ in range(2):
        tokenizer, model, _ = _train(lms["qwen2"], FinetuneConfig(epochs=1, lr=3e-3), n=128)
        runs.append(predict_proba(model, tokenizer, TEXTS[400:450], FAST)[0])
    assert np.array_equal(runs[0], runs[1])


def test_resume_from_checkpoint_matches_an_uninterrupted_run(lms: dict[str, Path],
                                                             tmp_path: Path) -> None:
    config = FinetuneConfig(epochs=2, lr=3e-3, batch_size=32, checkpoint_every=3)
    _, whole, _ = _train(lms["gpt2"], config, n=160)

    class Crash(Exception):
        pass

    def crash_at_7(step: int, loss: float) -> None:
        if step == 7:
            raise Crash

    with pytest.raises(Crash):
        _train(lms["gpt2"], config, n=160, checkpoint_dir=tmp_path, on_step=crash_at_7)
    _, resumed, stats = _train(lms["gpt2"], config, n=160, checkpoint_dir=tmp_path)
    assert stats.resumed_from_step == 6 and stats.steps == 10
    assert stats.examples_seen == 2 * 160  # counters carried over from the checkpoint
    for (name, a), (_, b) in zip(whole.named_parameters(), resumed.named_parameters(),
                                 strict=True):
        assert torch.equal(a.cpu(), b.cpu()), name


def test_lora_trains_adapters_and_head_only(lms: dict[str, Path]) -> None:
    tokenizer, model = load_classifier(lms["qwen2"], lora_rank=4)
    base = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    config = FinetuneConfig(epochs=3, lr=1e-2)
    stats = train_classifier(model, tokenizer, TEXTS[:400], one_hot(LABELS[:400], 2), config, 0,
                             soft_cross_entropy)
    total = sum(p.numel() for p in model.parameters())
    assert 0 < stats.trainable_params < total / 2
    assert all(torch.equal(p.cpu(), base[n]) for n, p in model.named_parameters() if n in base)
    assert stats.losses[-1] < 0.5 * stats.losses[0]


def test_gradient_checkpointing_gives_the_same_training(lms: dict[str, Path]) -> None:
    config = FinetuneConfig(epochs=1, lr=3e-3)
    _, _, plain = _train(lms["gpt2"], config, n=96)
    _, _, checkpointed = _train(lms["gpt2"], config, n=96, gc=True)
    assert np.allclose(plain.losses, checkpointed.losses, atol=1e-5)


def test_frozen_embeddings_are_not_updated(lms: dict[str, Path]) -> None:
    tokenizer, model = load_classifier(lms["gpt2"])
    before = model.backbone.get_input_embeddings().weight.detach().clone()
    train_classifier(model, tokenizer, TEXTS[:64], one_hot(LABELS[:64], 2),
                     FinetuneConfig(epochs=1, lr=1e-2, freeze_embeddings=True), 0,
                     soft_cross_entropy)
    assert torch.equal(model.backbone.get_input_embeddings().weight.cpu(), before)


@pytest.mark.parametrize("arch", ["gpt2", "qwen2"])
def test_a_truncated_rung_keeps_the_first_blocks_pretrained_weights(lms: dict[str, Path],
                                                                    arch: str) -> None:
    _, full = load_classifier(lms[arch])
    _, cut = load_classifier(lms[arch], layers=1)
    assert cut.backbone.config.num_hidden_layers == 1
    whole = dict(full.named_parameters())
    kept = dict(cut.named_parameters())
    assert set(kept) < set(whole) and all(torch.equal(kept[k], whole[k]) for k in kept)
    with pytest.raises(ValueError, match="has 2 blocks"):
        load_classifier(lms[arch], layers=3)


def test_train_last_blocks_trains_only_those_blocks_and_the_head(lms: dict[str, Path]) -> None:
    tokenizer, model = load_classifier(lms["gpt2"])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats = train_classifier(model, tokenizer, TEXTS[:64], one_hot(LABELS[:64], 2),
                             FinetuneConfig(epochs=1, lr=1e-2, train_last_blocks=1), 0,
                             soft_cross_entropy)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p.cpu(), before[n])}
    last = {n for n, _ in model.named_parameters() if n.startswith("backbone.h.1.")}
    assert changed and changed <= last | {"head.weight"}
    assert "head.weight" in changed and changed & last
    assert stats.trainable_params == sum(p.numel() for n, p in model.named_parameters()
                                         if n in last or n == "head.weight")
    with pytest.raises(ValueError, match="has 2 blocks"):
        train_classifier(*reversed(load_classifier(lms["gpt2"])), TEXTS[:8],
                         one_hot(LABELS[:8], 2), FinetuneConfig(train_last_blocks=3), 0,
                         soft_cross_entropy)
