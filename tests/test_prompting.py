"""Prompting controls: label-word probabilities from a causal LM, few-shot examples drawn
from split B with weak labels only, and the sweep's skip where the strong model is no LM."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from benchmark.finetune.classifier import Checkpoint
from benchmark.finetune.prompting import label_word_probs, render_prompt
from tests.tiny_gguf import write_tiny_llama_gguf


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from benchmark.models.gguf_decoder import convert_gguf

    base = tmp_path_factory.mktemp("llama")
    write_tiny_llama_gguf(base / "gguf" / "tiny.gguf")
    convert_gguf(base / "gguf" / "tiny.gguf", base / "converted")
    return base / "converted"


def test_label_words_are_scored_by_their_log_probability(tiny_llama) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    texts, words = ["the film was great", "dull"], ["bad", "good", "the"]
    probs = label_word_probs(Checkpoint(str(tiny_llama)), texts, words)
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1, atol=1e-6)
    # by hand for the first text: Σ log p(word tokens | prompt), softmaxed over the words
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    prompt = tokenizer(render_prompt(texts[0]))["input_ids"]
    scores = []
    for word in words:
        ids = tokenizer(f" {word}", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([prompt + ids])).logits[0], -1)
        scores.append(sum(float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(ids)))
    expected = np.exp(np.array(scores) - max(scores))
    np.testing.assert_allclose(probs[0], expected / expected.sum(), rtol=1e-4)
    shots = [("the plot felt dull", "bad")]
    assert render_prompt("x", shots) == "Text: the plot felt dull\nLabel: bad\n\nText: x\nLabel:"
    assert not np.allclose(label_word_probs(Checkpoint(str(tiny_llama)), texts, words, shots),
                           probs)


def test_few_shot_examples_come_from_b_with_weak_labels_balanced() -> None:
    from baselines.prompting import weak_shots

    weak = np.array([[.9, .1], [.8, .2], [.3, .7], [.6, .4], [.2, .8]])
    inp = SimpleNamespace(seed=0, train_weak_probs=weak, num_classes=2,
                          train_texts=("a", "b", "c", "d", "e"))
    shots = weak_shots(inp, 4)
    assert sorted(c for _, c in shots) == [0, 0, 1, 1]  # two of each weak class
    assert all(weak[ord(t) - ord("a")].argmax() == c for t, c in shots)  # weak, not gold
    assert weak_shots(inp, 4) == shots  # seeded


def test_prompting_needs_a_causal_lm() -> None:
    from benchmark.models.hub_ladder import is_decoder

    assert is_decoder("smollm2-135m-q4") and is_decoder("gpt2")
    assert not is_decoder("minilm-l6") and not is_decoder("tfidf-logreg")
    from benchmark.methods.catalog import METHODS, method_info

    assert METHODS.get("zeroshot-prompt").needs_decoder
    assert method_info("fewshot-prompt").control and not method_info("naive").control


def test_the_controls_run_on_a_decoder_task_in_the_sandbox(tiny_world, tmp_path) -> None:
    """A finetune task whose strong model is a (tiny) GGUF decoder: both controls run through
    the harness like any method, and record probabilities a prompt gave."""
    import shutil
    from pathlib import Path

    from benchmark.assets import catalog
    from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, ModelSpec
    from benchmark.run.harness import Harness, RunSpec
    from tests.conftest import TASK_YAML, build_wheel
    from tests.test_finetune_regime import FINETUNE_BLOCK

    write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    wheel = build_wheel(tmp_path / "tinyllama-1.0-py3-none-any.whl", "tinyllama/tiny.gguf",
                        (tmp_path / "tiny.gguf").read_bytes())
    entries = [
        (catalog.ASSETS, "tiny-llama-gguf", catalog.AssetSpec(
            name="tiny-llama-gguf", description="tests", tier="ladder",
            wheels=[catalog.WheelPin(name="tinyllama", version="1.0",
                                     sha256=catalog.sha256_file(wheel))],
            members={"tinyllama/tiny.gguf": "tiny.gguf"})),
        (ENCODERS, "tiny-llama", EncoderSource(name="tiny-llama", format="gguf",
                                               asset="tiny-llama-gguf", gguf_file="tiny.gguf",
                                               num_layers=2, hidden_size=32)),
        (MODELS, "tiny-llama", ModelSpec(name="tiny-llama", family="test", kind="encoder",
                                         encoder="tiny-llama", description="tests")),
    ]
    for registry, name, obj in entries:
        registry.add(name, obj)
    task = "tiny-tfidf-to-llama-ft"
    text = (TASK_YAML.format(id=task).replace("strong_model: tiny-bert", "strong_model: tiny-llama")
            .replace("regime: probe\n", "regime: finetune\n" + FINETUNE_BLOCK))
    try:
        catalog.fetch_asset("tiny-llama-gguf",
                            download=lambda pin, into: Path(shutil.copy(wheel, into)))
        with tiny_world.frozen_task(task, text) as spec:
            runs = [RunSpec("tiny", task, m, 0) for m in ("zeroshot-prompt", "fewshot-prompt")]
            summary = Harness(tmp_path / "results", workers=1, progress=False).run(
                runs, {task: spec})
            assert summary.done == 2 and not summary.failed
    finally:
        for registry, name, _ in entries:
            registry.remove(name)
