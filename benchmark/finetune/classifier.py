"""A transformer with a linear classification head, as openai/weak-to-strong builds it.

The head is bias-free and zero-initialised (every class starts at probability 1/2) and reads
the hidden state of the *last non-pad token*, found from the attention mask. The original
counted token ids ≠ 0, which with GPT-2's vocabulary (id 0 is "!") can pick the wrong
position. Encoder students (MiniLM) may mean-pool instead, as they were pretrained to.
Dropout is switched off, as in the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

Pooling = Literal["last", "mean"]
ENCODER_TYPES = {"bert", "mpnet", "roberta", "xlm-roberta", "distilbert"}


@dataclass(frozen=True)
class Checkpoint:
    """What ``from_pretrained`` needs: a folder or hub id, its pinned revision, and whether
    the rung ships modelling code (Qwen v1)."""

    path: str
    revision: str | None = None
    trust_remote_code: bool = False
    head: str | None = None   # a trained head's weights (a locked student), else zeros


HEAD_FILE = "classifier_head.safetensors"


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position of each row's last real token, for left or right padding alike."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (attention_mask.long() * (positions + 1)).argmax(dim=1)


class SequenceClassifier(nn.Module):
    def __init__(self, backbone: nn.Module, num_classes: int = 2, pooling: Pooling = "last"
                 ) -> None:
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling
        self.head = nn.Linear(backbone.config.hidden_size, num_classes, bias=False)
        nn.init.zeros_(self.head.weight)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids,
                               attention_mask=attention_mask).last_hidden_state
        if self.pooling == "last":
            rows = torch.arange(hidden.shape[0], device=hidden.device)
            pooled = hidden[rows, last_token_index(attention_mask)]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(pooled.to(self.head.weight.dtype)).float()


def disable_dropout(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def enable_checkpointing(backbone: nn.Module) -> None:
    """Recompute activations in backward instead of storing them (memory for compute)."""
    if hasattr(backbone, "activation_checkpointing_enable"):  # transformers >= 5
        backbone.activation_checkpointing_enable({"use_reentrant": False})
    else:
        backbone.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False})


def load_classifier(source: str | Path, *, revision: str | None = None, num_classes: int = 2,
                    pooling: Pooling = "last", gradient_checkpointing: bool = False,
                    lora_rank: int | None = None, dtype: torch.dtype | None = None,
                    trust_remote_code: bool = False, layers: int | None = None,
                    head: str | None = None) -> tuple[Any, SequenceClassifier]:
    """``(tokenizer, classifier)`` from a hub id at a pinned revision or a local folder
    (``trust_remote_code``: the ladder's Qwen v1 rungs ship their modelling code).

    ``layers``: keep only the first ``layers`` transformer blocks (their pretrained weights;
    the final norm stays): a smaller rung cut from the same model, as ``bootstrap`` uses.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hub: dict[str, Any] = {"revision": revision} if revision else {}
    if trust_remote_code:
        hub["trust_remote_code"] = True
    tokenizer = AutoTokenizer.from_pretrained(str(source), **hub)
    if tokenizer.pad_token is None:  # GPT-2, Pythia: pad with EOS; the mask marks it as pad
        tokenizer.pad_token = tokenizer.eos_token
    config = AutoConfig.from_pretrained(str(source), **hub)
    if layers is not None:
        if not 0 < layers <= config.num_hidden_layers:
            raise ValueError(f"layers={layers}: {source} has {config.num_hidden_layers} blocks")
        config.num_hidden_layers = layers
        if isinstance(getattr(config, "layer_types", None), list):
            config.layer_types = config.layer_types[:layers]
    kwargs: dict[str, Any] = dict(hub, config=config)
    if config.model_type in ENCODER_TYPES:
        kwargs["add_pooling_layer"] = False
    if dtype is not None:
        kwargs["dtype"] = dtype
    backbone = AutoModel.from_pretrained(str(source), **kwargs)
    disable_dropout(backbone)
    if gradient_checkpointing:
        enable_checkpointing(backbone)
    if lora_rank:
        from peft import LoraConfig, get_peft_model

        backbone = get_peft_model(backbone, LoraConfig(
            r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.0, target_modules="all-linear"))
    classifier = SequenceClassifier(backbone, num_classes, pooling)
    if head is not None:  # a harness-made student (sandbagging) continues from its head
        from safetensors.torch import load_file

        weight = load_file(head)["weight"]
        if weight.shape != classifier.head.weight.shape:
            raise ValueError(f"{head}: head of shape {tuple(weight.shape)}, the classifier "
                             f"needs {tuple(classifier.head.weight.shape)}")
        with torch.no_grad():
            classifier.head.weight.copy_(weight)
    return tokenizer, classifier
