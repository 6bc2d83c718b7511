"""``probe-filter`` and ``topo-filter``: drop the weak labels a probe on the strong model's own
activations disagrees with most, then train on the rest (EleutherAI w2s, ``probe_filter``
with its kNN and topological probes, ``w2s/probe.py`` and ``w2s/topo.py``).

Both read the raw activations of the middle hidden state (the source's ``probe_layer``
default), remove ``contamination`` (default 0.1) of split B and train the student on the rest
with the source's default loss, ``logconf-eleuther``. Binary only, as that loss.

- ``probe-filter``: the kNN probe (k = 50, each example its own neighbour) predicts every
  example's class-1 label as its neighbours' mean weak label; the int(0.1·n) examples with
  the largest |prediction − weak label| are dropped.
- ``topo-filter`` (TopoFilter): a directed kNN graph (k_cc = 50, self excluded); per weak
  class (weak class-1 label > 0.5 or not) keep the largest strongly connected component of
  that class's out-edges; then, within the kept points, drop those whose weak label is
  farthest from the mean of their k_zeta = 50 nearest kept neighbours' until round(0.1·n)
  points are gone in all (none more if the components already removed that many).
"""

from __future__ import annotations

import numpy as np

from baselines.relabel import knn_relabel, middle_layer, train_with_eleuther_logconf
from benchmark.api import Method, MethodInput, Uses, register


def knn_filter(acts: np.ndarray, weak1: np.ndarray, k: int, contamination: float
               ) -> np.ndarray:
    """Rows kept (in the source's order: by falling disagreement, the dropped ones first
    removed), as sorted indices."""
    weak = np.stack([1 - weak1, weak1], 1)
    predicted = knn_relabel(acts, weak, k, exclude_self=False)[:, 1]
    disagree = np.abs(predicted - weak1)
    order = np.argsort(-disagree, kind="stable")
    return np.sort(order[int(contamination * len(disagree)):])


def largest_component(nearest: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mask of the largest strongly connected component of the graph whose edges are each
    of ``rows``' out-edges to its ``nearest`` (the other rows have none)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n, k = nearest.shape
    targets = np.sort(nearest[rows], axis=1)  # sorted per row, as a dense graph's csr form
    counts = np.zeros(n + 1, np.int64)
    counts[1:][rows] = k
    graph = csr_matrix((np.ones(targets.size, bool), targets.ravel(), np.cumsum(counts)),
                       shape=(n, n))
    count, labels = connected_components(graph, connection="strong")
    return labels == np.bincount(labels, minlength=count).argmax()


def topo_cc(x: np.ndarray, weak1: np.ndarray, k: int) -> np.ndarray:
    """Mask of the points in their weak class's largest strongly connected kNN component."""
    import torch

    t = torch.from_numpy(np.asarray(x, np.float32))
    distances = torch.cdist(t, t).fill_diagonal_(float("inf"))
    nearest = distances.topk(min(k, len(t) - 1), largest=False).indices.numpy()
    positive = np.asarray(weak1) > 0.5
    return largest_component(nearest, positive) | largest_component(nearest, ~positive)


def topo_filter(x: np.ndarray, weak1: np.ndarray, contamination: float, k_cc: int,
                k_zeta: int) -> np.ndarray:
    """Sorted indices of the rows TopoFilter keeps."""
    import torch

    kept = np.flatnonzero(topo_cc(x, weak1, k_cc))
    x_c = torch.from_numpy(np.asarray(x, np.float32)[kept])
    y_c = np.asarray(weak1, np.float64)[kept]
    distances = torch.cdist(x_c, x_c).fill_diagonal_(float("inf"))
    nearest = distances.topk(min(k_zeta, len(kept) - 1), largest=False).indices.numpy()
    far = np.abs(y_c - y_c[nearest].mean(axis=1))
    remove = max(round(len(x) * contamination) - (len(x) - len(kept)), 0)
    dropped = np.argsort(-far, kind="stable")[:remove]
    return np.delete(kept, dropped)


class ProbeFilterBase(Method):
    regimes = ("probe",)
    binary_only = True
    code = "https://github.com/EleutherAI/w2s"

    def check_config(self) -> None:
        c = self.config["contamination"]
        if not (isinstance(c, int | float) and 0 <= c < 1):
            raise self.option_error("contamination", "a number in [0, 1)")

    def kept_rows(self, acts: np.ndarray, weak1: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        acts, _ = inp.features_at(middle_layer(inp))
        rows = self.kept_rows(acts, np.asarray(inp.train_weak_probs)[:, 1])
        print(f"{self.name}: kept {len(rows)} of {len(acts)} examples")
        return train_with_eleuther_logconf(inp, inp.train_weak_probs[rows], rows)


@register("probe-filter")
class ProbeFilter(ProbeFilterBase):
    """EleutherAI's probe filter: drop the 10% whose kNN-probe label differs most from weak."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="a kNN probe on B's activations, then one probe training")
    defaults = {"k": 50, "contamination": 0.1}

    def kept_rows(self, acts: np.ndarray, weak1: np.ndarray) -> np.ndarray:
        return knn_filter(acts, weak1, self.config["k"], self.config["contamination"])


@register("topo-filter")
class TopoFilter(ProbeFilterBase):
    """EleutherAI's TopoFilter: largest kNN component per weak class, then drop label outliers."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="a topological kNN probe on B's activations, then one probe training")
    defaults = {"k_cc": 50, "k_zeta": 50, "contamination": 0.1}

    def kept_rows(self, acts: np.ndarray, weak1: np.ndarray) -> np.ndarray:
        return topo_filter(acts, weak1, self.config["contamination"], self.config["k_cc"],
                           self.config["k_zeta"])
