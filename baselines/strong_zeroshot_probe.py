"""``strong-zeroshot-probe``: a control: what the strong features give with no supervision.

Split B's strong-model features are standardised, projected on their first ``components``
principal components and clustered by a Gaussian mixture with one component per class
(diagonal covariances); test examples get the mixture's posterior probabilities. No label is used to
find the clusters. A clustering cannot know which cluster is which class, so ``orient:
weak`` (default) uses the weak labels for exactly one bit: the cluster whose B examples have
the higher mean weak class-1 probability is called class 1 (with K classes, clusters and
classes are matched one to one by their mean weak probabilities). ``orient: none`` keeps the
mixture's arbitrary order. A label-free floor: what an unsupervised clustering of the
strong features gives, not how well they separate the classes (a gold-trained linear probe
on the same features is the ceiling, .76-.84 on the embedded tasks). It is one simple
unsupervised method, not CCS (Burns et al. 2022) or any search for a consistent labelling
(``mutual-predictability`` is one); a method below it has done worse than clustering.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register, standardizer

ORIENT = ("weak", "none")


def cluster_probs(train: np.ndarray, test: np.ndarray, components: int, seed: int,
                  classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Posterior [n, K] of a K-Gaussian mixture fitted to PCA-reduced, unlabelled ``train``."""
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    mean, scale = standardizer(train)
    pca = PCA(n_components=min(components, train.shape[1], len(train)), random_state=seed)
    z_train = pca.fit_transform((train - mean) / scale)
    z_test = pca.transform((np.asarray(test, np.float32) - mean) / scale)
    gmm = GaussianMixture(classes, covariance_type="diag", n_init=3, random_state=seed)
    gmm.fit(z_train)
    return gmm.predict_proba(z_train), gmm.predict_proba(z_test)


def orient_by_weak(train_probs: np.ndarray, test_probs: np.ndarray, weak_probs: np.ndarray
                   ) -> np.ndarray:
    """Swap the test columns if cluster 1 holds the lower mean weak class-1 probability."""
    hard = train_probs.argmax(1)
    weak1 = np.asarray(weak_probs)[:, 1]
    mean1 = weak1[hard == 1].mean() if (hard == 1).any() else 0.0
    mean0 = weak1[hard == 0].mean() if (hard == 0).any() else 0.0
    return test_probs[:, ::-1] if mean1 < mean0 else test_probs


def match_by_weak(train_probs: np.ndarray, test_probs: np.ndarray, weak_probs: np.ndarray
                  ) -> np.ndarray:
    """K clusters named by a one-to-one matching to classes that maximises, summed over
    clusters, the mean weak probability of the matched class among the cluster's members
    (the K-class form of :func:`orient_by_weak`; the Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment

    hard = train_probs.argmax(1)
    weak = np.asarray(weak_probs, np.float64)
    means = np.array([weak[hard == c].mean(0) if (hard == c).any() else np.zeros(weak.shape[1])
                      for c in range(train_probs.shape[1])])      # [cluster, class]
    clusters, classes = linear_sum_assignment(-means)
    out = np.empty_like(test_probs)
    out[:, classes] = test_probs[:, clusters]
    return out


@register("strong-zeroshot-probe")
class StrongZeroShotProbe(Method):
    """Control: unsupervised K-cluster split of the strong features (weak labels name it only)."""

    control = True
    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="PCA and a Gaussian mixture on B's features; no probe training")
    regimes = ("probe",)  # works on cached features; no finetune form yet
    defaults = {"components": 16, "orient": "weak"}

    def check_config(self) -> None:
        if self.config["orient"] not in ORIENT:
            raise self.option_error("orient", " or ".join(map(repr, ORIENT)))
        if not (isinstance(self.config["components"], int) and self.config["components"] >= 1):
            raise self.option_error("components", "a positive integer")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        train, test = cluster_probs(inp.train_features, inp.test_features,
                                    self.config["components"], inp.seed, inp.num_classes)
        if self.config["orient"] == "weak":
            name = orient_by_weak if inp.num_classes == 2 else match_by_weak
            test = name(train, test, inp.train_weak_probs)
        return np.ascontiguousarray(test)
