"""A fake Slurm (``sbatch``, ``srun``, ``sacct``) good enough for submitit's Slurm executor.

``sbatch`` gives each script a job id, keeps a copy (so tests can read its ``#SBATCH``
lines) and runs it in the background with the ``SLURM_*`` variables a real allocation sets;
``srun`` expands ``%j``/``%t`` in its log paths and runs the command; ``sacct`` reports each
job's state from files. Everything else (the sbatch script, the job pickles, the polling,
the job objects that re-attach by id) is submitit's real code.
"""

from __future__ import annotations

import sys
from pathlib import Path

SBATCH = r'''
import os, shutil, subprocess, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM_STATE"])
(state / "scripts").mkdir(parents=True, exist_ok=True)
counter = state / "counter"
job = int(counter.read_text()) + 1 if counter.exists() else 1000
counter.write_text(str(job))
script = state / "scripts" / f"{job}.sh"
shutil.copy(sys.argv[-1], script)
(state / f"{job}.state").write_text("PENDING")
env = dict(os.environ, SLURM_JOB_ID=str(job), SLURM_NTASKS="1", SLURM_PROCID="0",
           SLURM_LOCALID="0", SLURM_NODEID="0", SLURM_JOB_NUM_NODES="1",
           SLURM_JOB_NODELIST="fakenode")
status = state / f"{job}.state"
wrapper = (f"echo RUNNING > {status}; bash {script}; "
           f"if [ $? = 0 ]; then echo COMPLETED > {status}; else echo FAILED > {status}; fi")
subprocess.Popen(["bash", "-c", wrapper], env=env, start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"Submitted batch job {job}")
'''

SRUN = r'''
import os, subprocess, sys
args, files = sys.argv[1:], {}
while args and args[0].startswith("-"):
    flag = args.pop(0)
    if flag in ("--output", "--error"):
        files[flag] = args.pop(0)
def expand(path):
    return path.replace("%j", os.environ["SLURM_JOB_ID"]).replace("%t", "0")
with open(expand(files["--output"]), "w") as out:
    err = open(expand(files["--error"]), "w") if "--error" in files else out
    sys.exit(subprocess.call(" ".join(args), shell=True, stdout=out, stderr=err))
'''

SACCT = r'''
import os, sys
from pathlib import Path
state = Path(os.environ["FAKE_SLURM_STATE"])
ids = sys.argv[sys.argv.index("-j") + 1].split(",")
print("JobID|State|NodeList")
for job in ids:
    path = state / f"{job}.state"
    if path.exists():
        print(f"{job}|{path.read_text().strip()}|fakenode")
'''


def install(bin_dir: Path, state_dir: Path) -> dict[str, str]:
    """Write the fake commands into ``bin_dir``; return the environment that activates them."""
    import os

    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in {"sbatch": SBATCH, "srun": SRUN, "sacct": SACCT}.items():
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_SLURM_STATE": str(state_dir)}
