"""Tiny causal LMs (GPT-2 and Qwen2 architectures) built from config and saved like hub
snapshots, for the finetune tests. Offline, in a second.

The tokenizer is a byte-level BPE trained on the tiny corpus: transformers rebuilds a Qwen2
checkpoint's tokenizer as ``Qwen2Tokenizer`` from its vocabulary and merges, so only a real
byte-level BPE tokenizes the same under both architectures (a word-level one does not).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_corpus

EOS = "<|endoftext|>"


def save_tokenizer(folder: Path, vocab_size: int = 400) -> int:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([t for t, _ in make_corpus(600)], vocab_size=vocab_size,
                            min_frequency=1, special_tokens=[EOS], show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=EOS)
    tokenizer.save_pretrained(folder)
    return len(tokenizer)


def build_tiny_lm(folder: Path, arch: str, layers: int = 2, width: int = 32) -> Path:
    """Save a random-weight ``gpt2`` or ``qwen2`` LM (with its LM head, as the hub has it)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Qwen2Config, Qwen2ForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    vocab = save_tokenizer(folder)
    torch.manual_seed(0)
    if arch == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=128, n_embd=width,
                                           n_layer=layers, n_head=2, bos_token_id=0,
                                           eos_token_id=0))
    elif arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(
            vocab_size=vocab, hidden_size=width, intermediate_size=2 * width,
            num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=1,
            max_position_embeddings=128, tie_word_embeddings=True))
    else:
        raise ValueError(arch)
    model.save_pretrained(folder)
    return folder


def tiny_rungs(base: Path) -> list:
    """Two ladder rungs (a 16-wide GPT-2, a 32-wide Qwen2) whose hub ids are local folders."""
    from benchmark.models.hub_ladder import LadderRung

    rungs = []
    for name, arch, width in (("tiny-gpt2", "gpt2", 16), ("tiny-qwen2", "qwen2", 32)):
        folder = build_tiny_lm(base / name, arch, layers=1, width=width)
        rungs.append(LadderRung(name=name, family="tiny", hub_id=str(folder),
                                params=1000 * width, layers=1, hidden=width, lr=1e-3,
                                eval_batch_size=16, max_ctx=64, recipe_source="test",
                                description=f"{name} (test)"))
    return rungs
