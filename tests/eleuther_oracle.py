"""EleutherAI w2s's rules, ported line for line as test oracles (EleutherAI/w2s at commit
a929af0, MIT License, Copyright (c) 2024 EleutherAI): ``log_confidence_loss`` from
``w2s/loss.py`` and ``topo_cc`` / ``topofilter`` from ``w2s/topo.py``. Only the device
handling and the prints are left out."""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.csgraph import connected_components


def log_confidence_loss(logits, labels, step, warmup_steps=200, aux_coef=0.5,
                        harden=True, buffer=None, buffer_size=32):
    logits = logits.float()
    labels = labels.float()
    prior = labels.mean() if labels.shape[0] > 1 else 0.5
    coef = aux_coef * min(1.0, step / warmup_steps) if warmup_steps > 0 else aux_coef
    preds = torch.softmax(logits, dim=-1)
    buffer += list(preds[:, 0].detach())
    buffer = buffer[-buffer_size:]
    if harden:
        threshold = torch.quantile(torch.stack(buffer), prior)
        target_preds = torch.cat(
            [(preds[:, 0] >= threshold)[:, None], (preds[:, 0] < threshold)[:, None]], dim=1)
    else:
        target_preds = preds
    labels_binary = torch.stack([1.0 - labels, labels], dim=1)
    target = labels_binary * (1 - coef) + target_preds.detach() * coef
    return torch.nn.functional.cross_entropy(logits, target)


def lcc_mask(adj):
    num_cmps, cmps = connected_components(adj, connection="strong")
    cmp_sizes = np.bincount(cmps, minlength=num_cmps)
    return torch.from_numpy(cmps == cmp_sizes.argmax())


def topo_cc(x, y, *, k=5):
    dists = torch.cdist(x, x).fill_diagonal_(torch.inf)
    indices = dists.topk(k, largest=False).indices
    adj = indices.new_zeros(len(x), len(x), dtype=torch.bool)
    adj.scatter_(1, indices, True)
    cls_mask = y[:, None] > 0.5
    pos_mask = lcc_mask(adj & cls_mask)
    neg_mask = lcc_mask(adj & ~cls_mask)
    return neg_mask | pos_mask


def topofilter(x, y, contamination=0.1, *, k_cc=5, k_zeta=5):
    C = topo_cc(x, y, k=k_cc)
    x_C, y_C = x[C], y[C]
    dists = torch.cdist(x_C, x_C).fill_diagonal_(torch.inf)
    indices = dists.topk(k_zeta, largest=False).indices
    knn_labels = y_C[indices].float().mean(1)
    dists = torch.abs(y_C - knn_labels)
    cc_removed = len(x) - len(x_C)
    remaining = round(len(x) * contamination) - cc_removed
    n = max(remaining, 0)
    filtered = dists.topk(n).indices.cpu()
    C_indices = C.nonzero().squeeze(1).cpu()
    return np.delete(C_indices, filtered)
