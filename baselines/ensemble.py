"""Baselines for tasks with several weak supervisors (``weak_models``): each gets every
supervisor's soft labels on split B by name (``MethodInput.supervisor_probs``).

- ``ensemble-mean``: cross-entropy on the supervisors' average. The task's default labels
  are that same average, so on these tasks it reproduces ``naive`` from the named labels;
  it is the reference a method using the named labels has to beat.
- ``ensemble-agreement``: our variant: one learned weight per supervisor, the same for every
  example. It borrows from RAVEN (Jeon et al. 2025: adaptive weights over an ensemble of
  weak models, initialised on easy samples) and co-supervised learning (Liu & Alahi 2024:
  trust the teacher the student agrees with), but RAVEN weights each example and this does
  not, so its results say nothing about RAVEN.
  A student is first trained on the easy examples (every supervisor names the same class),
  then for ``rounds`` rounds: each supervisor is scored by the mean log-probability it gives
  the student's current answers on all of B, the weights are a softmax of those scores at
  ``temperature``, and the student is retrained on the weighted mixture of the labels.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register


def stacked_supervisors(inp: MethodInput) -> tuple[list[str], np.ndarray]:
    """The supervisors' names and their labels on B, ``[supervisors, n_B, classes]``."""
    labels = inp.kinds.get("weak_models")
    if labels is None:
        raise ValueError(f"task {inp.task!r} names one weak supervisor; this method needs "
                         "several (`weak_models`)")
    names = sorted(labels.probs)
    return names, np.stack([np.asarray(labels.probs[n], np.float64) for n in names])


def agreement_weights(labels: np.ndarray, student: np.ndarray, temperature: float
                      ) -> np.ndarray:
    """Softmax over supervisors of the mean log-probability each gives the student's
    answers (``labels`` ``[S, n, C]``, ``student`` ``[n, C]``)."""
    answers = student.argmax(axis=1)
    picked = labels[:, np.arange(len(answers)), answers]
    scores = np.log(np.clip(picked, 1e-6, 1.0)).mean(axis=1)
    z = (scores - scores.max()) / temperature
    return np.exp(z) / np.exp(z).sum()


@register("ensemble-mean")
class EnsembleMean(Method):
    """Cross-entropy on the average of the supervisors' soft labels."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    needs_supervisors = True

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        _, labels = stacked_supervisors(inp)
        targets = labels.mean(axis=0)
        if inp.regime == "finetune":
            return inp.finetune(targets).predict_proba(inp.test_texts)
        return inp.train_probe(targets).predict_proba(inp.test_features)


@register("ensemble-agreement")
class EnsembleAgreement(Method):
    """Our variant: one global weight per supervisor, from agreement with a student."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="rounds + 1 probe trainings (3 by default)")
    needs_supervisors = True
    regimes = ("probe",)
    defaults = {"rounds": 2, "temperature": 0.1}

    def check_config(self) -> None:
        if not (isinstance(self.config["rounds"], int) and self.config["rounds"] >= 1):
            raise self.option_error("rounds", "an integer ≥ 1")
        if not self.config["temperature"] > 0:
            raise self.option_error("temperature", "a number > 0")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        names, labels = stacked_supervisors(inp)
        votes = labels.argmax(axis=2)
        easy = (votes == votes[0]).all(axis=0)
        if easy.sum() < 10 * inp.num_classes:   # too few to start from: start from all
            easy = np.ones(len(easy), dtype=bool)
        probe = inp.train_probe(labels.mean(axis=0)[easy], features=inp.train_features[easy])
        print(f"ensemble-agreement: {int(easy.sum())} easy examples of {len(easy)}")
        for round_ in range(self.config["rounds"]):
            weights = agreement_weights(labels, probe.predict_proba(inp.train_features),
                                        self.config["temperature"])
            print(f"round {round_ + 1}: " + ", ".join(
                f"{n} {w:.3f}" for n, w in zip(names, weights, strict=True)))
            probe = inp.train_probe(np.tensordot(weights, labels, axes=1))
        return probe.predict_proba(inp.test_features)
