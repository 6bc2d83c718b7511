"""``w2s-bench new-method NAME``: write a submission folder that runs as it is.

The scaffold is a copy of the ``naive`` baseline with TODOs where the new idea goes, plus a
``submission.yaml`` that already validates, so the first ``w2s-bench run --methods NAME``
works before anything is edited.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.core.errors import SpecError
from benchmark.core.paths import submissions_dir
from benchmark.core.storage import atomic_write_text
from benchmark.methods.submissions import METADATA_FILE, NAME_PATTERN, PLUGIN_FILE

METHOD_TEMPLATE = '''\
"""``{name}``: TODO: say what the method does and where it comes from (cite it).

Scaffolded by ``w2s-bench new-method`` as a copy of the ``naive`` baseline (cross-entropy on
the weak soft labels). Change ``loss`` (or override ``fit_predict``), and bump ``version``
here and in submission.yaml whenever the results would change.
"""

from __future__ import annotations

import torch

from benchmark.api import Method, register, soft_cross_entropy


@register("{name}")
class {class_name}(Method):
    """TODO: one line saying what this method does (shown by `w2s-bench list methods`)."""

    version = "1"
    defaults = {{}}  # option name → default; submission.yaml's hyperparameters override them

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        """logits, weak_probs: [batch, classes]; progress runs from 0 to 1 over training."""
        # TODO: your loss. Helpers in benchmark.api: harden_keep_prior, linear_ramp, ...
        return soft_cross_entropy(logits, weak_probs)
'''

METADATA_TEMPLATE = """\
# Checked by a strict schema: unknown keys are errors. See docs/submit-a-method.md.
name: {name}
version: "1"             # must equal the class's `version`; bump both when results change
authors: ["TODO: your name"]
description: "TODO: one paragraph on what the method does and why."
paper: null              # or an https:// link
code: null               # or an https:// link
licence: MIT
hyperparameters: {{}}      # options passed to the method (keys must be in its `defaults`)
# What the method uses beyond the weak labels on B and the strong student; every key is
# required, and the board marks each use so readers can filter on it. Answer each line and
# delete its TODO: `check-submission` fails while any TODO is left in this file.
uses:
  transductive: false    # TODO: true if it reads the unlabelled test inputs beyond predicting each
  extra_data: []         # TODO: data beyond the task's splits, e.g. ["the test class prior"]
  extra_models: []       # TODO: models beyond the strong student and the task's weak labels
  gold_for_tuning: null  # TODO: or {{split: "...", n: 500, chose: "what the gold decided"}}
  compute: "one probe training, as naive"   # TODO: your budget, in trainings of naive
"""


def class_name_for(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", name) if part) or "Method"


def new_method(name: str, root: Path | None = None) -> Path:
    """Create ``submissions/NAME/`` with ``method.py`` and ``submission.yaml``."""
    from benchmark.methods.catalog import METHODS

    if not re.match(NAME_PATTERN, name):
        raise SpecError(f"method name {name!r} is not allowed: use lower-case letters, digits "
                        "and '-', starting with a letter or digit (e.g. 'my-method')")
    if name in METHODS.names():
        raise SpecError(f"method {name!r} already exists (defined in {METHODS.origin(name)}); "
                        "choose another name")
    folder = (root or submissions_dir()) / name
    if folder.exists():
        raise SpecError(f"{folder} already exists; choose another name or delete it")
    atomic_write_text(folder / PLUGIN_FILE, METHOD_TEMPLATE.format(
        name=name, class_name=class_name_for(name)))
    atomic_write_text(folder / METADATA_FILE, METADATA_TEMPLATE.format(name=name))
    METHODS.reset()
    return folder
