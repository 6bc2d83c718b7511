"""``zeroshot-prompt`` and ``fewshot-prompt``: controls that prompt the strong model instead
of training it, as Burns et al. (2023) report beside weak-to-strong finetuning.

Both score each class by the log-probability of its name after ``Text: …\\nLabel:`` (see
:mod:`benchmark.finetune.prompting`). ``zeroshot-prompt`` shows the strong model nothing
else. ``fewshot-prompt`` first shows ``shots`` (default 4) examples of split B, balanced
over the weak labels' classes and drawn with the run's seed, labelled with their *weak*
labels (the argmax of the weak soft labels; never gold): what prompting can do with the same
supervision a W2S method gets. They need a causal LM as the strong model and the finetune
regime (whose inputs carry its weights); ``run`` skips them elsewhere with a note.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register


class _PromptControl(Method):
    """What both controls declare: finetune regime, a causal-LM strong model, a control."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one forward pass of the strong model per test text; no training")
    paper = "https://arxiv.org/abs/2312.09390"
    regimes = ("finetune",)
    needs_decoder = True
    control = True


@register("zeroshot-prompt")
class ZeroShotPrompt(_PromptControl):
    """Control: the strong model prompted zero-shot with the class names as label words."""

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        return inp.prompt_probs()


def weak_shots(inp: MethodInput, shots: int) -> tuple[tuple[str, int], ...]:
    """``shots`` examples of split B, round-robin over the weak labels' classes (seeded)."""
    rng = np.random.default_rng(inp.seed)
    hard = np.asarray(inp.train_weak_probs).argmax(1)
    pools = [list(rng.permutation(np.flatnonzero(hard == c))) for c in range(inp.num_classes)]
    chosen: list[int] = []
    while len(chosen) < shots and any(pools):
        for pool in pools:
            if pool and len(chosen) < shots:
                chosen.append(int(pool.pop()))
    order = rng.permutation(len(chosen))  # classes not in a fixed order in the prompt
    return tuple((inp.train_texts[chosen[i]], int(hard[chosen[i]])) for i in order)


@register("fewshot-prompt")
class FewShotPrompt(_PromptControl):
    """Control: the strong model prompted with a few weakly labelled examples of split B."""

    defaults = {"shots": 4}

    def check_config(self) -> None:
        if not (isinstance(self.config["shots"], int) and self.config["shots"] >= 1):
            raise self.option_error("shots", "a positive integer")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        return inp.prompt_probs(shots=weak_shots(inp, self.config["shots"]))
