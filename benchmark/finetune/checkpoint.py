"""Checkpoints for resuming a finetune run: trainable weights, optimizer, schedule, step.

Written atomically (a temp file renamed into place), so a run killed mid-save resumes from the
previous checkpoint rather than reading half a file. Only trainable tensors are saved: with
LoRA that is the adapters and the head, not the frozen backbone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

CHECKPOINT = "finetune-checkpoint.pt"


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters()
            if p.requires_grad}


def save_checkpoint(folder: Path, model: nn.Module, optimizer: Any, scheduler: Any,
                    step: int, extra: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"step": step, "model": trainable_state(model),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "extra": extra}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: Path, model: nn.Module, optimizer: Any, scheduler: Any
                    ) -> tuple[int, dict[str, Any]]:
    """Restore from ``folder`` if it holds a checkpoint: (steps done, extra); else (0, {})."""
    path = folder / CHECKPOINT
    if not path.is_file():
        return 0, {}
    state = torch.load(path, map_location="cpu", weights_only=False)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["model"].items():
            params[name].copy_(value)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"]), dict(state["extra"])
