"""One rank of a data-parallel ``reproduce`` (launched by tests/test_data_parallel.py through
``torch.distributed.run``): the tiny ladder's runs on a SciQ mirror, every rank training,
the main rank writing.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 -m tests.ddp_reproduce SPEC``
where SPEC is a JSON file: {"rungs": [LadderRung fields…], "study": {…}, "mirror", "out"}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(spec_path: str) -> None:
    import torch

    from benchmark.finetune.trainer import accelerator
    from benchmark.models.hub_ladder import LadderRung, register_rung
    from benchmark.paper.execute import RunOptions, execute
    from benchmark.paper.study import plan

    torch.set_num_threads(1)
    spec = json.loads(Path(spec_path).read_text())
    for rung in spec["rungs"]:
        register_rung(LadderRung(**rung))
    study, out = spec["study"], Path(spec["out"])
    result = execute(study, plan(study), out / "results",
                     RunOptions.from_study(study, mirror=spec["mirror"]), log=lambda *_: None)
    (out / f"rank{accelerator().process_index}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
