"""Prompting a causal LM for class probabilities: the controls the W2S paper reports beside
weak-to-strong training (the strong model zero-shot, and few-shot with weakly labelled
examples).

Each class is scored by the log-probability the model gives its label word after the prompt
(the sum over the word's tokens, so multi-token names compare fairly with single-token
ones), and the K scores are turned into probabilities with a softmax. The prompt is plain
text, ``Text: … \\nLabel: <word>`` per shot and then the example; shots come from the
caller (the methods take them from split B with their *weak* labels, never gold).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.finetune.classifier import Checkpoint

TEMPLATE = "Text: {text}\nLabel:"


def render_prompt(text: str, shots: Sequence[tuple[str, str]] = ()) -> str:
    """The prompt for ``text`` after ``shots`` (text, label word) pairs."""
    parts = [TEMPLATE.format(text=t) + f" {word}\n\n" for t, word in shots]
    return "".join(parts) + TEMPLATE.format(text=text)


def label_word_probs(checkpoint: Checkpoint, texts: Sequence[str], label_words: Sequence[str],
                     shots: Sequence[tuple[str, str]] = (), batch_size: int = 8,
                     max_length: int = 1024) -> np.ndarray:
    """[len(texts), K] probabilities from the label words' log-probabilities."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hub = {"revision": checkpoint.revision} if checkpoint.revision else {}
    if checkpoint.trust_remote_code:
        hub["trust_remote_code"] = True
    tokenizer = AutoTokenizer.from_pretrained(checkpoint.path, **hub)
    try:
        model = AutoModelForCausalLM.from_pretrained(checkpoint.path, **hub).eval()
    except ValueError as exc:
        raise ValueError(f"{checkpoint.path} is not a causal LM, so it cannot be prompted "
                         f"({exc})") from None
    words = [tokenizer(f" {w}", add_special_tokens=False)["input_ids"] for w in label_words]
    scores = np.empty((len(texts), len(words)))
    with torch.inference_mode():
        for row, text in enumerate(texts):
            prompt = tokenizer(render_prompt(text, shots))["input_ids"]
            prompt = prompt[-(max_length - max(map(len, words))):]   # keep the example's end
            for start in range(0, len(words), batch_size):
                chunk = words[start:start + batch_size]
                width = len(prompt) + max(map(len, chunk))
                ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros_like(ids)
                for i, word in enumerate(chunk):
                    sequence = prompt + word
                    ids[i, :len(sequence)] = torch.tensor(sequence)
                    mask[i, :len(sequence)] = 1
                logits = model(input_ids=ids, attention_mask=mask).logits.float()
                logp = torch.log_softmax(logits, dim=-1)
                for i, word in enumerate(chunk):
                    positions = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(word))
                    scores[row, start + i] = float(logp[i, positions, torch.tensor(word)].sum())
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
