"""bench/engines: the same 24-task scatter through every engine that can run it here.

    python bench/engines.py [--rounds 3] [--tasks 24] [--jobs 2]

The workflow is bench/scatter24.wdl and its CWL twin bench/scatter24.cwl (trivial tasks in
busybox:latest), each engine running 2 tasks at a time, side by side in rotating order:

    bare podman            24 x `podman run --rm busybox ...` (the floor)
    WDL  wfrewrite         `wfrewrite run --executor podman` (miniwdl's engine, wfrewrite tasks)
         miniwdl           `miniwdl run` with miniwdl's own podman backend
         toil (own)        `toil-wdl-runner --container singularity` (the stand-in over podman)
         toil no-appliance `toil-wdl-runner --no-appliance --wfrewrite-executor podman`
    CWL  wfrewrite         `wfrewrite-cwl-runner --parallel --executor podman`
         cwltool           `cwltool --parallel --podman`
         toil podman       `toil-cwl-runner --podman` (Toil's own container path: cwltool's podman)
         toil no-appliance `toil-cwl-runner --no-appliance --wfrewrite-executor podman`

Toil's own container path for WDL (miniwdl's Singularity backend) runs through
bench/standin/singularity, which turns `singularity exec` into `podman run --rm --network=none`
(MINIWDL__TASK_RUNTIME__COMMAND_SHELL=/bin/sh: busybox has no bash). It prints the median wall time, the
overhead per task over the floor, the ratio to the floor and the peak memory (max RSS of any one
process, from GNU time). Timings on a shared machine are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import BIN, MINIWDL_CFG, side_by_side, timed

HERE = Path(__file__).resolve().parent
SHIM = "/usr/local/libexec/testbed-podman"  # drops cwltool's --userns=keep-id (test bed, as root)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    if not shutil.which("podman"):
        raise SystemExit("bench/engines needs podman and the test bed's images (../shared/testbed)")
    work = Path(tempfile.mkdtemp(prefix="wfr-engines-"))
    wdl, cwl = HERE / "scatter24.wdl", HERE / "scatter24.cwl"
    wdl_in = work / "wdl.json"
    wdl_in.write_text(json.dumps({"scatter24.n": a.tasks}))
    cwl_in = work / "cwl.json"
    cwl_in.write_text(json.dumps({"i": list(range(a.tasks))}))
    env = dict(
        os.environ,
        PATH=f"{SHIM}:{BIN}:{os.environ['PATH']}",
        MINIWDL__SCHEDULER__TASK_CONCURRENCY=str(a.jobs),
        MINIWDL__TASK_RUNTIME__COMMAND_SHELL="/bin/sh",
    )
    # Toil's own WDL container path: miniwdl's Singularity backend, through a stand-in that
    # runs `singularity exec` as `podman run` (bench/standin/singularity)
    standin_env = dict(env, PATH=f"{HERE / 'standin'}:{env['PATH']}")
    n = [0]

    def fresh(name: str) -> Path:
        n[0] += 1
        d = work / f"{name}-{n[0]}"
        d.mkdir()
        return d

    toil = ["--maxCores", str(a.jobs), "--logLevel", "ERROR"]
    modes: dict[str, Callable[[], tuple[float, int]]] = {
        "bare podman": lambda: timed(
            [
                f"seq 0 {a.tasks - 1} | xargs -P {a.jobs} -I@ podman run --rm busybox:latest sh -c 'echo hello @ > /dev/null'"
            ],
            shell=True,
        ),
        "WDL wfrewrite": lambda: timed(
            [
                str(BIN / "wfrewrite"),
                "run",
                str(wdl),
                "-i",
                str(wdl_in),
                "--executor",
                "podman",
                "--dir",
                str(fresh("wf")),
            ],
            env=env,
        ),
        "WDL miniwdl": lambda: timed(
            [
                str(BIN / "miniwdl"),
                "run",
                str(wdl),
                "-i",
                str(wdl_in),
                "--cfg",
                MINIWDL_CFG,
                "--dir",
                str(fresh("mw")),
            ],
            env=env,
        ),
        "WDL toil (own containers)": lambda: timed(
            [
                str(BIN / "toil-wdl-runner"),
                str(wdl),
                str(wdl_in),
                "--container",
                "singularity",
                *toil,
                "--jobStore",
                str(fresh("to") / "js"),
                "--outputDirectory",
                str(work / "to-out"),
            ],
            env=standin_env,
        ),
        "WDL toil no-appliance": lambda: timed(
            [
                str(BIN / "toil-wdl-runner"),
                str(wdl),
                str(wdl_in),
                "--no-appliance",
                "--wfrewrite-executor",
                "podman",
                *toil,
                "--jobStore",
                str(fresh("tw") / "js"),
                "--outputDirectory",
                str(work / "tw-out"),
            ],
            env=env,
        ),
        "CWL wfrewrite": lambda: timed(
            [
                str(BIN / "wfrewrite-cwl-runner"),
                "--parallel",
                "--executor",
                "podman",
                "--quiet",
                "--outdir",
                str(fresh("wc")),
                str(cwl),
                str(cwl_in),
            ],
            env=env,
        ),
        "CWL cwltool": lambda: timed(
            [
                str(BIN / "cwltool"),
                "--parallel",
                "--podman",
                "--quiet",
                "--outdir",
                str(fresh("ct")),
                str(cwl),
                str(cwl_in),
            ],
            env=env,
        ),
        "CWL toil podman": lambda: timed(
            [
                str(BIN / "toil-cwl-runner"),
                "--podman",
                *toil,
                "--jobStore",
                str(fresh("tp") / "js"),
                "--outdir",
                str(work / "tp-out"),
                str(cwl),
                str(cwl_in),
            ],
            env=env,
        ),
        "CWL toil no-appliance": lambda: timed(
            [
                str(BIN / "toil-cwl-runner"),
                "--no-appliance",
                "--wfrewrite-executor",
                "podman",
                *toil,
                "--jobStore",
                str(fresh("tn") / "js"),
                "--outdir",
                str(work / "tn-out"),
                str(cwl),
                str(cwl_in),
            ],
            env=env,
        ),
    }
    side_by_side(modes, a.rounds, a.tasks, a.jobs, f"{a.tasks} trivial tasks in busybox:latest")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
