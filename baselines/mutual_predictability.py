"""``mutual-predictability``: a label-free elicitation control: labels for split B searched so
that each example's label is predictable from the others' (in the spirit of internal
coherence maximisation, ICM: Wen et al. 2025, "Unsupervised Elicitation of Language
Models", without its logical-consistency constraints, which a single-label task lacks).

No label is used in the search. From each of ``starts`` seeded random balanced labellings
of split B, ``rounds`` times: fit ridge regressions (penalty ``ridge`` × the fitted rows) from the
standardised strong features to the current one-hot labels on all folds but one
(``folds``-fold, seeded), predict the held-out fold, and relabel every example by the
out-of-fold scores hardened to equal class shares (1/K each: the only prior a label-free
search may assume, and what stops it collapsing onto one class). A labelling's mutual
predictability is the share of examples whose out-of-fold argmax is their label; the most
predictable labelling found is kept. A search cannot know which cluster is which class, so,
as ``strong-zeroshot-probe``, the weak labels name them (one bit with two classes: the
labelling or its flip, whichever agrees with them more). The student then trains on it with
the task's probe.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register, report_training, standardizer


def balanced_hard(scores: np.ndarray) -> np.ndarray:
    """Class per row keeping every class's share at 1/K: rows in order of falling score
    margin take their best class while it has room."""
    n, k = scores.shape
    room = [n // k + (1 if c < n % k else 0) for c in range(k)]
    chosen = [-1] * n
    left = n
    order = np.argsort(-scores.reshape(-1), kind="stable")
    rows, classes = divmod(order, k)
    for row, cls in zip(rows.tolist(), classes.tolist(), strict=True):  # plain ints: a numpy
        if chosen[row] < 0 and room[cls] > 0:  # scalar a step cost more than the loop itself
            chosen[row], room[cls] = cls, room[cls] - 1
            left -= 1
            if not left:
                break
    return np.array(chosen)


def fold_maps(x: np.ndarray, folds: np.ndarray, ridge: float) -> list[tuple]:
    """Per fold, (fit rows, held rows, H) with H = x_held (x_fitᵀ x_fit + ridge·m·I)⁻¹ x_fitᵀ
    (m fit rows): the features never change during the search, so each fold's ridge fit is
    one matrix. A heavy penalty makes the search a power iteration towards the features'
    leading direction; a light one lets random labellings look predictable."""
    maps = []
    for fold in np.unique(folds):
        fit, held = folds != fold, folds == fold
        a = x[fit]
        penalty = ridge * len(a) * np.eye(x.shape[1])
        maps.append((fit, held, x[held] @ np.linalg.solve(a.T @ a + penalty, a.T)))
    return maps


def out_of_fold_scores(maps: list[tuple], labels: np.ndarray, classes: int) -> np.ndarray:
    """[n, K] ridge-regression scores of each row from a fit on the other folds."""
    target = np.eye(classes)[labels]
    out = np.empty((len(labels), classes))
    for fit, held, hat in maps:
        out[held] = hat @ target[fit]
    return out


def search_labels(x: np.ndarray, classes: int, starts: int, rounds: int, n_folds: int,
                  ridge: float, seed: int) -> tuple[np.ndarray, float]:
    """The most mutually predictable balanced labelling found, and its predictability."""
    rng = np.random.default_rng(seed)
    maps = fold_maps(x, rng.permutation(len(x)) % n_folds, ridge)
    best, best_score = None, -1.0
    for _ in range(starts):
        labels = balanced_hard(rng.random((len(x), classes)))
        for step in range(rounds + 1):
            scores = out_of_fold_scores(maps, labels, classes)
            score = float((scores.argmax(1) == labels).mean())
            if score > best_score:
                best, best_score = labels, score
            if step < rounds:
                labels = balanced_hard(scores)
    return best, best_score


def search_flops(n: int, d: int, classes: int, config: dict) -> float:
    """Multiply-adds × 2 of the search: per fold (m fitted rows, h held) xᵀx (2md²), the
    solve against d × m right-hand sides (⅔d³ + 2d²m) and the held rows' map (2hdm); per
    labelling scored, each fold's map times the labels (2hmK, n²K/2 over two halves)."""
    folds = config["folds"]
    held = n / folds
    fit = n - held
    maps = folds * (2 * fit * d * d + 2 / 3 * d ** 3 + 2 * d * d * fit + 2 * held * d * fit)
    scored = config["starts"] * (config["rounds"] + 1) * folds * 2 * held * fit * classes
    return float(maps + scored)


def named_by_weak(labels: np.ndarray, weak_probs: np.ndarray) -> np.ndarray:
    """Clusters named by the classes of the weak labels: each cluster takes the class whose
    weak probability is highest on average among its members (a permutation; with two
    classes, the labelling or its flip)."""
    from scipy.optimize import linear_sum_assignment

    weak = np.asarray(weak_probs, np.float64)
    k = weak.shape[1]
    means = np.array([weak[labels == c].mean(0) if (labels == c).any() else np.zeros(k)
                      for c in range(k)])
    clusters, classes = linear_sum_assignment(-means)
    mapping = np.empty(k, dtype=np.int64)
    mapping[clusters] = classes
    return mapping[labels]


@register("mutual-predictability")
class MutualPredictability(Method):
    """Control: labels searched for mutual predictability, no label used (weak ones name it)."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="starts × rounds × folds ridge fits on B, then one probe training")
    control = True
    regimes = ("probe",)
    paper = "https://arxiv.org/abs/2506.10139"  # ICM, whose idea (not method) this borrows
    defaults = {"starts": 3, "rounds": 6, "folds": 2, "ridge": 2.0}

    def check_config(self) -> None:
        for option, least in (("starts", 1), ("rounds", 1), ("folds", 2)):
            if not (isinstance(self.config[option], int) and self.config[option] >= least):
                raise self.option_error(option, f"an integer ≥ {least}")
        if not self.config["ridge"] > 0:
            raise self.option_error("ridge", "a number > 0")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        mean, scale = standardizer(inp.train_features)
        x = ((inp.train_features - mean) / scale).astype(np.float64)
        found, score = search_labels(x, inp.num_classes, self.config["starts"],
                                     self.config["rounds"], self.config["folds"],
                                     float(self.config["ridge"]), inp.seed)
        report_training(search_flops(len(x), x.shape[1], inp.num_classes, self.config),
                        self.config["starts"] * (self.config["rounds"] + 1) * len(x),
                        x.shape[1] * inp.num_classes)
        labels = named_by_weak(found, inp.train_weak_probs)
        self.labels, self.predictability = labels, score
        print(f"mutual-predictability: out-of-fold agreement {score:.3f}")
        targets = np.eye(inp.num_classes, dtype=np.float32)[labels]
        return inp.train_probe(targets).predict_proba(inp.test_features)
