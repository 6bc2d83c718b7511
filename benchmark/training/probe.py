"""Shared training utilities: the linear probe that the ceiling and every method train.

Probe regime: frozen strong-model features, standardised with statistics of the student's
training inputs (no labels involved), and a linear head trained with AdamW on minibatches.
The loss is pluggable: ``loss(logits, targets, progress)`` with ``progress`` in [0, 1) lets a
method ramp a schedule (e.g. the confidence loss) without touching the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.core import compute

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class ProbeConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 0.0
    # a Bradley-Terry scorer on pair features f(first) - f(second): no centring and no
    # bias, so the logit is r(first) - r(second) and swapping a pair flips its probability
    antisymmetric: bool = False

    @classmethod
    def from_defaults(cls, defaults: object) -> ProbeConfig:
        """From a task's ``training`` block, so the ceiling and every method train alike."""
        return cls(epochs=defaults.epochs, batch_size=defaults.batch_size, lr=defaults.lr,
                   weight_decay=defaults.weight_decay)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, progress: float = 0.0
                       ) -> torch.Tensor:
    """Cross-entropy against soft targets (rows of ``targets`` sum to 1)."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


@dataclass(frozen=True)
class CrossEntropyTo:
    """A loss that is soft cross-entropy to a target that takes no gradient:
    L = CE(softmax(logits), target(logits.detach(), weak_probs, progress)).

    Most W2S losses have this form (naive: the weak labels; the confidence losses: a mix of
    them and the student's hardened prediction; product: their normalised product). Declared
    so, the probe trainer writes the gradient out instead of running autograd (the same
    bits), and calls the target in ``torch.inference_mode``: it must not need autograd.
    Called, it is an ordinary loss for every other trainer.
    """

    target: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor, progress: float = 0.0
                 ) -> torch.Tensor:
        return soft_cross_entropy(logits, self.target(logits.detach(), targets, progress))


@dataclass
class LinearProbe:
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray  # [classes, dim]
    bias: np.ndarray    # [classes]

    @property
    def num_params(self) -> int:
        return int(self.weight.size + self.bias.size)

    def logits(self, features: np.ndarray) -> np.ndarray:
        x = np.subtract(np.asarray(features, dtype=np.float32), self.mean)
        np.divide(x, self.scale, out=x)  # in place: one fresh copy, the same bits
        compute.add_inference(2.0 * self.num_params * len(x))
        return x @ self.weight.T + self.bias

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        z = self.logits(features)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


STANDARDIZER_COLUMNS = 64  # a float64 temporary of n × 64, not n × dim


def standardizer(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (+1e-6), accumulated in float64.

    The operations of ``x.mean(0)`` and ``x.std(0)`` on a float64 copy, in their order (so the
    same bits; ``tests/test_probe_trainer.py`` checks), with the mean taken once and the
    squares a block of columns at a time: each column's sums run over the rows in order
    either way, and a forked run faults in 1.5 MB of fresh pages instead of 55 MB.
    """
    features = np.asarray(features)
    n = len(features)
    mean = np.add.reduce(features, axis=0, dtype=np.float64) / n
    squares = np.empty_like(mean)
    for start in range(0, features.shape[1], STANDARDIZER_COLUMNS):
        part = slice(start, start + STANDARDIZER_COLUMNS)
        centred = np.subtract(features[:, part], mean[part], dtype=np.float64)
        np.multiply(centred, centred, out=centred)
        squares[part] = np.add.reduce(centred, axis=0)
    std = np.sqrt(squares / n)
    return mean.astype(np.float32), (std + 1e-6).astype(np.float32)


def train_probe(features: np.ndarray, targets: np.ndarray, config: ProbeConfig, seed: int,
                loss: LossFn = soft_cross_entropy,
                on_epoch: Callable[[int, LinearProbe], None] | None = None,
                observe: Callable[[ProbeTrainer], None] | None = None) -> LinearProbe:
    """Fit a linear head on ``features`` to soft ``targets`` ([n, classes], rows sum to 1).

    Deterministic for a given seed on a given machine: the shuffling generator and the
    zero-initialised head depend on nothing else. FLOPs (6 × head parameters per example
    seen) and examples seen go to the compute meter. ``on_epoch(epoch, probe)`` sees a
    snapshot of the head after each epoch (early stopping picks one of them). A method that
    acts between epochs (weights, selection, a resumed head) drives :class:`ProbeTrainer`.
    """
    trainer = ProbeTrainer(features, targets, config, seed, loss, observe=observe)
    for epoch in range(config.epochs):
        trainer.run_epoch()
        if on_epoch is not None:
            on_epoch(epoch + 1, trainer.probe())
    return trainer.probe()


class ProbeTrainer:
    """The shared probe's loop, one epoch per :meth:`run_epoch`, so a method can act between
    epochs: weight or select rows from the student's current per-example losses
    (:meth:`per_example_loss`), resume from a given head (``init``), or train several heads
    side by side (one trainer each). Every example it trains on is counted.

    The loop is written for speed without changing a bit of what it computes (a probe step
    is ~0.3 MFLOP, so torch's per-operation overhead is the cost): the head's forward and
    backward are the operations autograd would run for ``nn.Linear``, autograd only sees
    the loss, plain cross-entropy has its gradient written out, and one AdamW step updates
    weight and bias as one flat tensor. ``tests/test_probe_trainer.py`` holds every path to
    the plain ``nn.Linear`` + autograd + ``torch.optim.AdamW`` loop bit for bit.
    """

    def __init__(self, features: np.ndarray, targets: np.ndarray, config: ProbeConfig,
                 seed: int, loss: LossFn = soft_cross_entropy,
                 init: LinearProbe | None = None,
                 observe: Callable[[ProbeTrainer], None] | None = None) -> None:
        features = np.asarray(features, dtype=np.float32)
        targets = np.asarray(targets, dtype=np.float32)
        if features.ndim != 2 or targets.ndim != 2 or len(features) != len(targets):
            raise ValueError(f"train_probe: features {features.shape} and targets "
                             f"{targets.shape} must be [n, dim] and [n, classes]")
        _check_finite(features, targets, loss)
        self.config, self.loss, self.observe = config, loss, observe
        if init is not None:  # the given head's coordinates, so its weights mean the same
            _check_init(init, features.shape[1], targets.shape[1])
            mean, scale = init.mean, init.scale
        else:
            mean, scale = standardizer(features)
            if config.antisymmetric:
                mean = np.zeros_like(mean)
                scale = np.sqrt((np.asarray(features, np.float64) ** 2).mean(0)).astype(
                    np.float32) + np.float32(1e-6)
        self.mean, self.scale = mean, scale
        # standardised a minibatch at a time (the same float32 subtraction and division, so
        # the same bits): a forked run pays for every fresh page it touches
        self.raw, self.y = torch.from_numpy(features), torch.from_numpy(targets)
        self.centre, self.spread = torch.from_numpy(mean), torch.from_numpy(scale)
        self.head = FlatHead(self.raw.shape[1], self.y.shape[1],
                             train_bias=not config.antisymmetric)
        if init is not None:
            self.head.weight.copy_(torch.from_numpy(np.asarray(init.weight, np.float32)))
            self.head.bias.copy_(torch.from_numpy(np.asarray(init.bias, np.float32)))
        self.optimizer = ProbeAdamW(self.head.trained, self.head.grad, lr=config.lr,
                                    weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(seed)
        self.n = len(self.raw)
        self.steps_per_epoch = max(1, -(-self.n // config.batch_size))
        self.total = config.epochs * self.steps_per_epoch
        self.epochs_done = self.step = self.examples_seen = 0
        rows = min(self.n, config.batch_size)
        self.buffer_x = self.raw.new_empty(rows, self.raw.shape[1])
        self.buffer_y = self.y.new_empty(rows, self.y.shape[1])

    def run_epoch(self, weights: np.ndarray | None = None,
                  after_step: Callable[[ProbeTrainer], None] | None = None) -> None:
        """One pass over the rows in a fresh seeded order. ``weights`` ([n], ≥ 0): each
        row's gradient is scaled by its weight (the gradient of the batch mean of
        w_i · loss_i for a per-example loss), and rows of weight 0 sit this epoch out (the
        batches, and any batch statistic a loss takes, hold only the others).
        ``after_step(trainer)`` runs after each optimizer step (``examples_seen`` and
        :meth:`probe` tell it where training stands)."""
        if self.epochs_done >= self.config.epochs:
            raise ValueError(f"this probe trainer was set up for {self.config.epochs} epochs;"
                             " give a config with more to train longer")
        order = torch.randperm(self.n, generator=self.generator)
        scale = None
        if weights is not None:
            scale = torch.from_numpy(_checked_weights(weights, self.n))
            order = order[scale[order] > 0]
        steps = max(1, -(-len(order) // self.config.batch_size))
        bs = self.config.batch_size
        # a written-out gradient needs no autograd at all: in inference mode each of a
        # step's ~15 small operations skips its bookkeeping
        with torch.inference_mode(written_out(self.loss)):
            for b, start in enumerate(range(0, len(order), bs)):
                idx = order[start:start + bs]
                batch_x = torch.index_select(self.raw, 0, idx, out=self.buffer_x[:len(idx)])
                batch_x.sub_(self.centre).div_(self.spread)
                batch_y = torch.index_select(self.y, 0, idx, out=self.buffer_y[:len(idx)])
                logits = self.head.forward(batch_x)
                progress = self.step / self.total if steps == self.steps_per_epoch \
                    else (self.epochs_done + b / steps) / self.config.epochs
                grad = logit_gradient(self.loss, logits, batch_y, progress, self.step,
                                      self.total, self.epochs_done)
                if scale is not None:
                    grad = grad * scale[idx].unsqueeze(1)
                self.head.backward(grad, batch_x)
                self.optimizer.step()
                self.step += 1
                self.examples_seen += len(idx)
                if after_step is not None:
                    after_step(self)
        self.epochs_done += 1
        if isinstance(self.loss, CrossEntropyTo) and not bool(
                torch.isfinite(self.head.flat).all()):
            raise FloatingPointError(
                f"the probe became non-finite in epoch {self.epochs_done} of "
                f"{self.config.epochs}: the loss's target held nan or inf")
        compute.add_train(6.0 * self.head.num_params * len(order), len(order),
                          self.head.num_params)
        if self.observe is not None:
            self.observe(self)

    def raw_logits(self, features: np.ndarray) -> np.ndarray:
        """The current head's logits on raw ``features``, with the standardisation folded
        into the head (one small product; not counted as the method's compute): what a
        training curve reads, never what a prediction is made from."""
        weight = self.head.weight.detach().numpy() / self.scale
        bias = self.head.bias.detach().numpy() - weight @ self.mean
        return np.asarray(features, np.float32) @ weight.T + bias

    def mean_training_loss(self) -> float:
        """Mean cross-entropy of the current head to the targets it trains on, every row."""
        z = self.raw_logits(self.raw.numpy())
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-(self.y.numpy() * log_p).sum(axis=1).mean())

    def per_example_loss(self, targets: np.ndarray | None = None) -> np.ndarray:
        """[n] cross-entropy of the current head against ``targets`` (default: the ones it
        trains on), on every row: what small-loss selection and reweighting read."""
        target = self.y if targets is None else torch.from_numpy(
            np.asarray(targets, dtype=np.float32))
        if target.shape != self.y.shape:
            raise ValueError(f"per_example_loss: targets {tuple(target.shape)} must be "
                             f"{tuple(self.y.shape)}")
        with torch.inference_mode():
            x = (self.raw - self.centre) / self.spread
            logits = self.head.forward(x)
            compute.add_inference(2.0 * self.head.num_params * self.n)
            return (-(target * torch.log_softmax(logits, -1)).sum(-1)).numpy().copy()

    def probe(self) -> LinearProbe:
        """The head as it stands (a copy)."""
        return self.head.snapshot(self.mean, self.scale)


def _checked_weights(weights: np.ndarray, n: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float32)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
        raise ValueError(f"run_epoch: weights must be [{n}] finite numbers ≥ 0, at least one "
                         f"above 0 (got shape {w.shape})")
    return w


def _check_init(init: LinearProbe, dim: int, classes: int) -> None:
    if np.shape(init.weight) != (classes, dim) or np.shape(init.bias) != (classes,):
        raise ValueError(f"init: a head of weight {np.shape(init.weight)} cannot resume on "
                         f"{dim} features and {classes} classes")


def written_out(loss: LossFn) -> bool:
    """Whether the trainer writes this loss's gradient out (cross-entropy, plain or to a
    declared target) rather than running autograd on it."""
    return loss is soft_cross_entropy or isinstance(loss, CrossEntropyTo)


def _check_finite(features: np.ndarray, targets: np.ndarray, loss: LossFn) -> None:
    """A written-out gradient never reads the loss, so a non-finite input is named here
    instead of as a non-finite loss at some step."""
    if not written_out(loss):
        return  # other losses are checked at every step
    for name, values in (("features", features), ("targets", targets)):
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise FloatingPointError(f"train_probe: {name} of row {row} are not finite (nan "
                                     "or inf); drop or repair that row")


def logit_gradient(loss: LossFn, logits: torch.Tensor, targets: torch.Tensor,
                   progress: float, step: int, total: int, epoch: int) -> torch.Tensor:
    """d loss / d logits for one minibatch; autograd sees the loss alone, never the head."""
    if written_out(loss):  # cross-entropy's backward: the kernels autograd runs for it
        if isinstance(loss, CrossEntropyTo):
            targets = loss.target(logits, targets, progress)  # logits take no gradient
        mean_grad = torch.full((), -1.0) / len(logits)  # neg, then mean's backward
        return torch._log_softmax_backward_data(targets * mean_grad,
                                                torch.log_softmax(logits, dim=-1), -1,
                                                torch.float32)
    logits.requires_grad_(True)
    value = loss(logits, targets, progress)
    number = value.item()
    if not math.isfinite(number):
        raise FloatingPointError(f"the training loss became {number} at step "
                                 f"{step + 1} of {total} (epoch {epoch + 1})")
    value.backward()
    return logits.grad


class FlatHead:
    """A zero-initialised linear head whose weight and bias are views of one flat tensor (and
    so are their gradients), so that one optimizer step covers both."""

    def __init__(self, dim: int, classes: int, train_bias: bool) -> None:
        # built and thrown away: nn.Linear's initialisation draws from torch's global
        # generator, and a method drawing from it after a probe must see the same stream
        torch.nn.Linear(dim, classes)
        size = classes * dim
        self.flat, self.flat_grad = torch.zeros(size + classes), torch.zeros(size + classes)
        self.weight, self.bias = self.flat[:size].view(classes, dim), self.flat[size:]
        self.weight_grad = self.flat_grad[:size].view(classes, dim)
        self.bias_grad = self.flat_grad[size:]
        # a Bradley-Terry scorer keeps its bias at zero (still added, never trained)
        self.trained = self.flat if train_bias else self.flat[:size]
        self.grad = self.flat_grad if train_bias else self.flat_grad[:size]
        self.num_params = size + classes

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, batch, self.weight.t())  # what nn.Linear calls

    def backward(self, logit_grad: torch.Tensor, batch: torch.Tensor) -> None:
        """Autograd's gradients of ``addmm(bias, batch, weight.t())``: the weight's as its
        backward takes it for a column-major right operand, the bias's as a sum over rows."""
        torch.mm(logit_grad.t(), batch, out=self.weight_grad)
        torch.sum(logit_grad, 0, out=self.bias_grad)

    def snapshot(self, mean: np.ndarray, scale: np.ndarray) -> LinearProbe:
        return LinearProbe(mean, scale, self.weight.numpy().copy(), self.bias.numpy().copy())


class ProbeAdamW:
    """``torch.optim.AdamW``'s step (its single-tensor path, amsgrad off) written out for the
    probe's one flat parameter tensor. The same elementwise operations in the same order,
    so the same bits (``tests/test_probe_trainer.py`` holds it to ``torch.optim.AdamW``),
    without the optimizer framework around them (hooks, profiler records, state look-ups),
    which cost more than the arithmetic on a 384 × 2 head.
    """

    def __init__(self, param: torch.Tensor, grad: torch.Tensor, lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.param, self.grad, self.lr, self.weight_decay, self.eps = \
            param, grad, lr, weight_decay, eps
        self.beta1, self.beta2 = betas
        self.exp_avg = torch.zeros_like(param)
        self.exp_avg_sq = torch.zeros_like(param)
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2, lr = self.beta1, self.beta2, self.lr
        step_size = lr / (1 - beta1 ** self.steps)
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        param, grad, exp_avg, exp_avg_sq = self.param, self.grad, self.exp_avg, self.exp_avg_sq
        if self.weight_decay != 0:
            param.mul_(1 - lr * self.weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
    return out
