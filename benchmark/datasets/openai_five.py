"""The five NLP datasets of openai/weak-to-strong, formatted as its ``datasets.py`` does.

Binary labels; no class balancing (the original keeps the source's balance). Each formatter
takes one source row and the shared ``random.Random`` and returns ``(text, label)``.
``anthropic_hh`` is the original single-response form (shown ``chosen`` or ``rejected`` alone:
every model sits near chance); ``anthropic_hh_pairwise`` shows both replies and asks which is
better, which a reward-model-like student can actually learn.
"""

from __future__ import annotations

import os
import random

from benchmark.datasets.base import pair_text
from benchmark.datasets.hub import HubDataset, Row, register_hub

ORIGIN = "openai/weak-to-strong weak_to_strong/datasets.py"
TEST_IS_VALIDATION = {"train": "train", "test": "validation"}


def format_amazon_polarity(row: Row, rng: random.Random) -> tuple[str, int]:
    return f"{row['title']} {row['content']}", int(row["label"])


def format_sciq(row: Row, rng: random.Random) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    answer = (row["correct_answer"] if label else
              rng.choice([row["distractor1"], row["distractor2"], row["distractor3"]]))
    return f"Q: {row['question']} A: {answer}", label


def format_anthropic_hh(row: Row, rng: random.Random) -> tuple[str, int]:
    label = int(rng.random() < 0.5)
    return (row["chosen"] if label else row["rejected"]), label


def _hh_parts(row: Row) -> tuple[str, str, str] | None:
    """(shared dialogue, chosen final reply, rejected final reply), each reply starting at
    its "Assistant:"; None when the two transcripts are identical (no preference)."""
    chosen, rejected = row["chosen"], row["rejected"]
    if chosen == rejected:
        return None
    cut = len(os.path.commonprefix([chosen, rejected]))
    marker = chosen.rfind("\n\nAssistant:", 0, cut + 1)
    cut = marker if marker >= 0 else cut
    return chosen[:cut], chosen[cut:].strip(), rejected[cut:].strip()


def format_anthropic_hh_pairwise(row: Row, rng: random.Random) -> tuple[str, int] | None:
    """Shared dialogue once, then both final replies in random order; label = the first is
    the chosen one. Rows whose two transcripts are identical carry no preference: dropped."""
    parts = _hh_parts(row)
    if parts is None:
        return None
    context, reply_c, reply_r = parts
    label = int(rng.random() < 0.5)
    first, second = (reply_c, reply_r) if label else (reply_r, reply_c)
    text = (f"{context.strip()}\n\nReply 1: {first}\n\nReply 2: {second}\n\n"
            "Q: Is reply 1 better than reply 2?")
    return text, label


def format_anthropic_hh_pairs(row: Row, rng: random.Random) -> tuple[str, int] | None:
    """The two transcripts as a reward-modelling pair (each the shared dialogue and its own
    final reply), in random order; label = the first is the chosen one. A reward model
    scores each transcript alone (the ``pairwise`` task kind)."""
    parts = _hh_parts(row)
    if parts is None:
        return None
    context, reply_c, reply_r = parts
    label = int(rng.random() < 0.5)
    chosen, rejected = (f"{context.strip()}\n\n{reply}".strip() for reply in (reply_c, reply_r))
    return (pair_text(chosen, rejected) if label else pair_text(rejected, chosen)), label


def format_cosmos_qa(row: Row, rng: random.Random) -> tuple[str, int]:
    """True answer or a random wrong one; a "None of the above" true answer is labelled 0."""
    true_answer = row[f"answer{row['label']}"]
    label = 0 if "None of the above choices ." in true_answer else int(rng.random() < 0.5)
    if label:
        answer = true_answer
    else:
        answer = rng.choice([row[f"answer{i}"] for i in range(4)
                             if row[f"answer{i}"] != true_answer])
    return f"Context: {row['context']}\nQuestion: {row['question']}\nAnswer: {answer}", label


def format_boolq(row: Row, rng: random.Random) -> tuple[str, int]:
    return f"Passage: {row['passage']}\nQuestion: {row['question']}", int(row["answer"])


for _dataset in [
    HubDataset("amazon_polarity", "fancyzhx/amazon_polarity", format_amazon_polarity,
               ("negative", "positive"), "Amazon reviews, title + content", ORIGIN,
               balance=False, fields=("title", "content", "label")),
    HubDataset("sciq", "allenai/sciq", format_sciq, ("wrong", "correct"),
               "SciQ question with the correct answer or a random distractor (50/50)", ORIGIN,
               balance=False,
               fields=("question", "correct_answer", "distractor1", "distractor2",
                       "distractor3")),
    HubDataset("anthropic_hh", "Anthropic/hh-rlhf", format_anthropic_hh,
               ("rejected", "chosen"), "HH-RLHF transcript shown alone (chance for all models)",
               ORIGIN, balance=False, fields=("chosen", "rejected")),
    HubDataset("anthropic_hh_pairwise", "Anthropic/hh-rlhf", format_anthropic_hh_pairwise,
               ("second", "first"), "HH-RLHF: both replies, is the first the chosen one?",
               "W2S-Bench (pairwise form of the openai data)", balance=False,
               fields=("chosen", "rejected")),
    HubDataset("anthropic_hh_pairs", "Anthropic/hh-rlhf", format_anthropic_hh_pairs,
               ("second", "first"), "HH-RLHF as reward-modelling pairs: each transcript "
               "apart, is the first the chosen one?", "W2S-Bench (the pairwise task kind)",
               balance=False, fields=("chosen", "rejected"), pairs=True),
    HubDataset("cosmos_qa", "allenai/cosmos_qa", format_cosmos_qa, ("wrong", "correct"),
               "Cosmos QA context + question with the true or a random wrong answer", ORIGIN,
               splits=TEST_IS_VALIDATION, balance=False,
               fields=("context", "question", "answer0", "answer1", "answer2", "answer3",
                       "label")),
    HubDataset("boolq", "google/boolq", format_boolq, ("false", "true"),
               "BoolQ passage + question -> answer", ORIGIN, splits=TEST_IS_VALIDATION,
               balance=False, fields=("passage", "question", "answer")),
]:
    register_hub(_dataset)
