"""A sweep of the miniature world in its own process, for the kill -9 tests.

    python -m tests.sweep_child '{"root": …, "cache": …, "wheel": …, "bert_dir": …,
                                  "results": …, "methods": […], "replicates": 2,
                                  "executor": "local", "workers": 2}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    spec = json.loads(sys.argv[1])
    from tests.conftest import TINY_SUITE, TINY_TASK, activated, world_entries

    entries = world_entries(Path(spec["wheel"]), Path(spec["bert_dir"]))
    with activated(Path(spec["root"]), Path(spec["cache"]), entries):
        from benchmark.run.executors import ExecutorOptions
        from benchmark.run.harness import Harness, RunSpec
        from benchmark.tasks.spec import TASKS

        runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in spec["methods"]
                for k in range(spec["replicates"])]
        results = Path(spec["results"])
        options = ExecutorOptions(workers=spec.get("workers", 2), folder=results / ".jobs")
        summary = Harness(results, progress=False, executor=spec.get("executor", "local"),
                          options=options).run(runs, {TINY_TASK: TASKS.get(TINY_TASK)})
    print(json.dumps({"done": summary.done, "skipped": summary.skipped,
                      "failed": len(summary.failed), "adopted": summary.adopted,
                      "claimed": summary.claimed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
