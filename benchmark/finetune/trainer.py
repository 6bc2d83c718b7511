"""The one finetune trainer every method in the finetune regime shares.

Real batches (length-bucketed, padded per batch) instead of the original's minibatch-1
accumulation; a cosine schedule with optional warmup; bf16 autocast on GPU (and on CPU when
asked); optional gradient checkpointing, LoRA and frozen embeddings; device placement and
multi-GPU data parallelism through ``accelerate``; a checkpoint every ``checkpoint_every``
steps that a rerun resumes from. The loss is pluggable exactly as in the probe trainer:
``loss(logits, targets, progress)``.

Compute is measured, not assumed: one training step runs under ``torch.utils.flop_counter``
and its FLOPs per token scale to every token processed; 6·N·D is recorded beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from benchmark.core import compute
from benchmark.finetune.batching import Encoded, batch_plan, collate, encode
from benchmark.finetune.checkpoint import load_checkpoint, save_checkpoint
from benchmark.finetune.classifier import SequenceClassifier, enable_checkpointing
from benchmark.finetune.flops import matmul_params, measure_flops, peak_memory_mb

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 2
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 1e-5
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    schedule: Literal["cosine", "constant"] = "cosine"
    max_ctx: int = 1024
    bf16: bool | None = None            # None: on GPU, or a CPU with native bf16 (AVX512-BF16/AMX)
    gradient_checkpointing: bool = False
    lora_rank: int | None = None
    freeze_embeddings: bool = False     # no dense embedding-table gradient (fast on CPU)
    train_last_blocks: int | None = None  # train only the last N blocks and the head
    bucket_batches: int = 16
    checkpoint_every: int | None = None  # steps; None: never
    compile: bool = False               # torch.compile the model (GPU: fewer kernel launches)

    @classmethod
    def from_settings(cls, settings: Any) -> FinetuneConfig:
        """From a task's ``finetune:`` block (pooling belongs to the model, not the trainer)."""
        return cls.from_dict(settings.model_dump(exclude={"pooling"}))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneConfig:
        values = dict(values)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


@dataclass
class TrainStats:
    steps: int = 0
    examples_seen: int = 0
    tokens_seen: int = 0            # real (non-pad) tokens
    padded_tokens: int = 0          # tokens the model actually processed
    truncated: int = 0              # training sequences cut to max_ctx
    flops_per_token: float = 0.0    # measured on one step
    train_flops: float = 0.0        # flops_per_token × padded tokens
    flops_6nd: float = 0.0          # 6 · matmul params · padded tokens, for comparison
    flops_source: str = "flop counter, one step"
    trainable_params: int = 0
    wall_s: float = 0.0
    resumed_from_step: int = 0
    peak_gpu_mem_mb: float | None = None
    losses: list[float] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("losses")
        return out


_ACCELERATOR: Any = None


def accelerator() -> Any:
    """One ``accelerate.Accelerator`` per process (its state is process-global)."""
    global _ACCELERATOR
    if _ACCELERATOR is None:
        from accelerate import Accelerator

        # cpu=True without CUDA: under torchrun, accelerate then runs CPU ranks over gloo
        # (without it, every CPU rank would silently train alone as rank 0)
        _ACCELERATOR = Accelerator(mixed_precision="no", cpu=not torch.cuda.is_available())
    return _ACCELERATOR


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (else bf16 autocast is slower than fp32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def use_bf16(config: FinetuneConfig, device: torch.device) -> bool:
    if config.bf16 is not None:
        return config.bf16
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())


def pad_multiple(device: torch.device) -> int:
    return 64 if device.type == "cuda" else 1


def prefer_fast_attention(device: torch.device) -> None:
    """cuDNN's attention builds a new plan for every sequence length, a CPU cost on every
    call with length-bucketed batches; flash / memory-efficient attention do not."""
    if device.type == "cuda" and hasattr(torch.backends.cuda, "enable_cudnn_sdp"):
        torch.backends.cuda.enable_cudnn_sdp(False)


def _autocast(device: torch.device, enabled: bool) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _optimizer(params: list[torch.nn.Parameter], config: FinetuneConfig,
               device: torch.device) -> torch.optim.Optimizer:
    """AdamW with the fused kernel (on CPU too, where its step is also much faster); the
    multi-tensor one where fused is unsupported."""
    kwargs = {"lr": config.lr, "betas": config.betas, "weight_decay": config.weight_decay}
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, foreach=True, **kwargs)


def _scheduler(optimizer: torch.optim.Optimizer, config: FinetuneConfig, total: int) -> Any:
    from transformers import get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup

    if config.schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, config.warmup_steps)
    return get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, total)


def run_fingerprint(model: Any, texts: list[str], targets: np.ndarray, config: FinetuneConfig,
                    seed: int, loss: LossFn) -> str:
    """What makes two trainings the same one: a checkpoint resumes only the training that
    wrote it (same model, data, targets, recipe, seed and loss), never another."""
    import hashlib
    import json

    digest = hashlib.sha256()
    owner = getattr(loss, "__self__", None)
    recipe = {k: v for k, v in asdict(config).items() if k != "checkpoint_every"}
    digest.update(json.dumps([recipe, seed, getattr(loss, "__qualname__", repr(loss)),
                              getattr(owner, "config", None),
                              getattr(getattr(model, "backbone", model), "name_or_path", ""),
                              sum(p.numel() for p in model.parameters())],
                             sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(targets, dtype=np.float32).tobytes())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def train_classifier(model: SequenceClassifier, tokenizer: Any, texts: list[str],
                     targets: np.ndarray, config: FinetuneConfig, seed: int, loss: LossFn,
                     checkpoint_dir: Path | None = None,
                     on_step: Callable[[int, float], None] | None = None) -> TrainStats:
    """Fit ``model`` to soft ``targets`` ([n, classes]); returns what it cost.

    With ``checkpoint_dir``, checkpoints go to a sub-folder named by :func:`run_fingerprint`,
    so one folder can serve several trainings (a method that chains them) and a rerun of the
    same training resumes from its own checkpoint.
    """
    if checkpoint_dir is not None:
        checkpoint_dir = checkpoint_dir / run_fingerprint(model, texts, targets, config, seed,
                                                          loss)
    acc = accelerator()
    device = acc.device
    torch.manual_seed(seed)
    if config.freeze_embeddings:
        model.backbone.get_input_embeddings().weight.requires_grad_(False)
    if config.train_last_blocks is not None:
        if config.lora_rank:
            raise ValueError("train_last_blocks and lora_rank are two ways to train part of "
                             "the model; set one of them")
        train_only_last_blocks(model, config.train_last_blocks)
    if config.gradient_checkpointing:
        enable_checkpointing(model.backbone)
    encoded = encode(tokenizer, texts, config.max_ctx)
    y = torch.as_tensor(np.asarray(targets, dtype=np.float32))
    steps_per_epoch = math.ceil(len(texts) / config.batch_size)
    total = max(1, steps_per_epoch * config.epochs)
    params = [p for p in model.parameters() if p.requires_grad]
    model.to(device)
    optimizer = _optimizer(params, config, device)
    scheduler = _scheduler(optimizer, config, total)
    model, optimizer = acc.prepare(model, optimizer)
    stats = TrainStats(truncated=encoded.truncated, trainable_params=sum(p.numel() for p in params))
    done, extra = (0, {}) if checkpoint_dir is None else load_checkpoint(
        checkpoint_dir, acc.unwrap_model(model), optimizer, scheduler)
    stats.resumed_from_step = done
    for key in ("examples_seen", "tokens_seen", "padded_tokens", "flops_per_token"):
        setattr(stats, key, extra.get(key, getattr(stats, key)))
    bf16 = use_bf16(config, device)
    pad = tokenizer.pad_token_id
    prefer_fast_attention(device)
    model.train()
    start = time.perf_counter()
    lengths = encoded.lengths
    rank, world = acc.process_index, acc.num_processes
    losses = LossLog(total, eager=device.type != "cuda" or on_step is not None)
    forward = torch.compile(model, dynamic=True) if config.compile else model
    for epoch in range(config.epochs):
        plan = batch_plan(lengths, config.batch_size, seed, epoch, config.bucket_batches)
        for index, rows in enumerate(plan):
            step = epoch * steps_per_epoch + index
            if step < done:
                continue
            # data parallel: every rank takes its share of each global batch, so the batch
            # size, step count and schedule are those of one process (DDP averages the
            # ranks' gradients: the mean over the global batch when the shares are equal)
            local = rows[rank::world] if len(rows) >= world else rows
            # the first step runs eagerly: the FLOP counter measures it
            runner = forward if stats.flops_per_token else model
            value, padded = _train_step(runner, optimizer, scheduler, encoded, local, y, pad,
                                        device, bf16, loss, step / total, stats)
            stats.steps = step + 1
            stats.examples_seen += len(rows)
            stats.padded_tokens += padded * world  # ranks pad their own shares: approximate
            stats.tokens_seen += int(lengths[rows].sum())
            losses.add(step, value)
            if on_step is not None:
                on_step(step + 1, losses.check()[-1])
            saving = checkpoint_dir is not None and config.checkpoint_every and \
                acc.is_main_process and (step + 1) % config.checkpoint_every == 0
            if saving or (step + 1) % LossLog.SYNC_EVERY == 0:
                losses.check()
            if saving:
                save_checkpoint(checkpoint_dir, acc.unwrap_model(model), optimizer, scheduler,
                                step + 1, {k: getattr(stats, k) for k in (
                                    "examples_seen", "tokens_seen", "padded_tokens",
                                    "flops_per_token")})
    stats.losses = losses.check()
    stats.wall_s = time.perf_counter() - start
    stats.train_flops = stats.flops_per_token * stats.padded_tokens
    stats.flops_6nd = 6.0 * matmul_params(acc.unwrap_model(model)) * stats.padded_tokens
    stats.peak_gpu_mem_mb = peak_memory_mb(device)
    compute.add_train(stats.train_flops, stats.examples_seen, stats.trainable_params)
    acc.free_memory()  # drop accelerate's references, or a long-lived worker keeps every model
    return stats


def train_only_last_blocks(model: SequenceClassifier, blocks: int) -> None:
    """Freeze the backbone but its last ``blocks`` transformer blocks (the head always
    trains): on CPU this trains a decoder several times faster than training every weight,
    and faster than LoRA, since the frozen blocks need no backward pass."""
    backbone = model.backbone
    layers = next((getattr(backbone, name) for name in ("layers", "h") if
                   hasattr(backbone, name)), None)
    if layers is None and hasattr(backbone, "encoder"):
        layers = backbone.encoder.layer
    if layers is None:
        raise ValueError(f"train_last_blocks: cannot find the blocks of "
                         f"{type(backbone).__name__} (no .layers, .h or .encoder.layer)")
    if not 0 < blocks <= len(layers):
        raise ValueError(f"train_last_blocks={blocks}: the model has {len(layers)} blocks")
    for param in backbone.parameters():
        param.requires_grad_(False)
    for block in layers[len(layers) - blocks:]:
        for param in block.parameters():
            param.requires_grad_(True)


class LossLog:
    """Each step's loss, kept on the device until a sync point: on a GPU, reading a loss
    every step (``float(loss)``, ``if not isfinite(loss)``) stalls the CPU until the step ends,
    so it can never queue the next step's kernels ahead. A non-finite loss is still reported
    with the step it happened at, at the next check (at once on CPU, where reading is free)."""

    SYNC_EVERY = 50  # steps between checks on a GPU

    def __init__(self, total: int, eager: bool) -> None:
        self.total, self.eager = total, eager
        self.values: list[float] = []
        self.pending: list[tuple[int, torch.Tensor]] = []

    def add(self, step: int, value: torch.Tensor) -> None:
        self.pending.append((step, value))
        if self.eager:
            self.check()

    def check(self) -> list[float]:
        if self.pending:
            read = torch.stack([v for _, v in self.pending]).float().cpu().tolist()
            for (step, _), number in zip(self.pending, read, strict=True):
                if not math.isfinite(number):
                    raise FloatingPointError(f"the training loss became {number} at step "
                                             f"{step + 1} of {self.total} "
                                             f"({step / self.total:.1%} of training)")
            self.values += read
            self.pending = []
        return self.values


def _train_step(model: Any, optimizer: Any, scheduler: Any, encoded: Encoded, rows: np.ndarray,
                y: torch.Tensor, pad: int, device: torch.device, bf16: bool, loss: LossFn,
                progress: float, stats: TrainStats) -> tuple[torch.Tensor, int]:
    input_ids, mask = collate(encoded.ids, rows, pad, pad_multiple(device))
    targets = y[torch.as_tensor(rows)]
    if device.type == "cuda":  # pinned host memory: the copies overlap the running step
        input_ids, mask, targets = (t.pin_memory().to(device, non_blocking=True)
                                    for t in (input_ids, mask, targets))
    else:
        input_ids, mask, targets = input_ids.to(device), mask.to(device), targets.to(device)

    def forward_backward() -> torch.Tensor:
        with _autocast(device, bf16):
            logits = model(input_ids, mask)
        value = loss(logits.float(), targets, progress)
        accelerator().backward(value)
        return value

    if stats.flops_per_token == 0.0:
        try:
            flops, value = measure_flops(forward_backward)
        except (AssertionError, RuntimeError, NotImplementedError) as exc:
            # the counter has no formula for some kernels (e.g. grouped-query SDPA on CUDA);
            # fall back to 6·N per token, and say so in the stats
            optimizer.zero_grad(set_to_none=True)
            stats.flops_source = f"6ND (flop counter failed: {str(exc)[:120]})"
            flops, value = 6.0 * matmul_params(model) * mask.numel(), forward_backward()
        stats.flops_per_token = flops / mask.numel()
    else:
        value = forward_backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return value.detach(), int(mask.numel())


def predict_proba(model: SequenceClassifier, tokenizer: Any, texts: list[str],
                  config: FinetuneConfig) -> tuple[np.ndarray, int]:
    """Class probabilities for ``texts`` in their order, and how many were truncated."""
    acc = accelerator()
    device = acc.device
    model = acc.unwrap_model(model).to(device).eval()
    prefer_fast_attention(device)
    encoded = encode(tokenizer, texts, config.max_ctx)
    out = np.zeros((len(texts), model.head.out_features), dtype=np.float32)
    bf16 = use_bf16(config, device)
    flops_per_token = 0.0
    with torch.inference_mode():
        for rows in batch_plan(encoded.lengths, config.eval_batch_size, 0, 0, shuffle=False):
            input_ids, mask = collate(encoded.ids, rows, tokenizer.pad_token_id,
                                      pad_multiple(device))
            input_ids, mask = input_ids.to(device), mask.to(device)

            def forward(ids: torch.Tensor = input_ids, m: torch.Tensor = mask) -> torch.Tensor:
                with _autocast(device, bf16):
                    return model(ids, m)

            if flops_per_token == 0.0:
                try:
                    flops, logits = measure_flops(forward)
                except (AssertionError, RuntimeError, NotImplementedError):
                    flops, logits = 2.0 * matmul_params(model) * mask.numel(), forward()
                flops_per_token = flops / mask.numel()
            else:
                logits = forward()
            compute.add_inference(flops_per_token * mask.numel())
            out[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out, encoded.truncated
