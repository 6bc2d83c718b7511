"""One rank of the data-parallel hardening check, launched by ``tests/test_baselines.py``
through ``torch.distributed.run`` (2 CPU processes, gloo).

Each rank holds its share of one global batch (3 rows and 2: the trainer's ``rows[r::w]``
split) and hardens it as ``logconf`` does; the rows must come out as one process
hardening the whole batch would make them.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 -m tests.ddp_hardening OUT``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

# p0 of the global batch; rank 0 gets rows 0, 2, 4 and rank 1 rows 1, 3
P0 = [0.10, 0.90, 0.20, 0.80, 0.30]
WEAK1 = [0.9, 0.1, 0.8, 0.2, 0.1]  # class-1 share .42 over the batch (rank 0: .6, rank 1: .15)


def main(out_dir: str) -> None:
    from benchmark.api import class1_prior, harden_keep_prior

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    rows = list(range(len(P0)))[rank::world]
    probs = torch.tensor([[P0[i], 1 - P0[i]] for i in rows])
    weak = torch.tensor([[1 - WEAK1[i], WEAK1[i]] for i in rows])
    hard = harden_keep_prior(probs, class1_prior(weak))
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(
        {"rows": rows, "class1": hard[:, 1].tolist(), "world": world,
         "prior": float(class1_prior(weak))}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
