"""bench/overhead: what running a task through wfrewrite costs over a bare `podman run`.

A 24-task scatter of trivial tasks in busybox:latest (bench/scatter24.wdl), run side by side, in
rotating order, for several rounds:

    bare       24 x `podman run --rm busybox:latest sh -c 'echo hello N > /dev/null'`, J at a time
    wfrewrite  `wfrewrite run bench/scatter24.wdl --executor podman` (miniwdl's scheduler, J at a time)
    miniwdl    `miniwdl run bench/scatter24.wdl` with miniwdl's own podman backend (J at a time)

It prints the median wall time of each, the overhead per task over the bare floor, the ratio to
the floor, and the peak memory (max RSS) of each driver. Usage:

    python bench/overhead.py [--rounds 5] [--tasks 24] [--jobs 2] [--image busybox:latest]

Needs the test bed (../shared/testbed: podman-setup.sh, build-images.sh). Timings on a shared
machine are noisy: compare the ratios of one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MINIWDL_CFG = "/var/tmp/testbed/miniwdl-podman.cfg"


def timed(
    argv: list[str], env: dict[str, str] | None = None, shell: bool = False
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, from GNU time) of one command; fails loudly."""
    cmd = ["/usr/bin/time", "-f", "%M", *(["sh", "-c", argv[0]] if shell else argv)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{p.stderr[-2000:]}")
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss


def side_by_side(
    modes: dict[str, Callable[[], tuple[float, int]]],
    rounds: int,
    tasks: int,
    jobs: int,
    title: str,
) -> None:
    """Run every mode once a round, in rotating order (the first mode is the floor, run once more
    to warm up), and print median wall, overhead per task over the floor, ratio, peak RSS."""
    names = list(modes)
    walls: dict[str, list[float]] = {m: [] for m in names}
    rss: dict[str, int] = dict.fromkeys(names, 0)
    modes[names[0]]()
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, peak = modes[name]()
            walls[name].append(wall)
            rss[name] = max(rss[name], peak)
        print(
            f"round {r + 1}: " + "  ".join(f"{m} {walls[m][-1]:.2f}s" for m in names),
            file=sys.stderr,
        )
    floor = statistics.median(walls[names[0]])
    width = max(len(m) for m in names) + 2
    print(f"\n{title}, {jobs} at a time, median of {rounds} rounds")
    print(f"{'':{width}} {'wall':>8} {'overhead/task':>14} {'ratio':>7} {'peak RSS':>9}")
    for m in names:
        med = statistics.median(walls[m])
        print(
            f"{m:{width}} {med:7.2f}s {(med - floor) / tasks * jobs * 1000:11.0f} ms {med / floor:6.2f}x "
            f"{rss[m] / 1024:7.0f} MB"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--image", default="busybox:latest")
    a = ap.parse_args()
    for tool in ("podman", "/usr/bin/time"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/overhead needs {tool} (see ../shared/testbed)")
    work = Path(tempfile.mkdtemp(prefix="wfr-bench-"))
    wdl = HERE / "scatter24.wdl"
    inputs = work / "inputs.json"
    inputs.write_text(f'{{"scatter24.n": {a.tasks}}}')
    env = dict(
        os.environ,
        MINIWDL__SCHEDULER__TASK_CONCURRENCY=str(a.jobs),
        MINIWDL__TASK_RUNTIME__COMMAND_SHELL="/bin/sh",
    )

    def bare() -> tuple[float, int]:
        cmd = (
            f"seq 0 {a.tasks - 1} | xargs -P {a.jobs} -I@ podman run --rm {a.image} "
            "sh -c 'echo hello @ > /dev/null'"
        )
        return timed([cmd], shell=True)

    def wfrewrite() -> tuple[float, int]:
        return timed(
            [
                str(BIN / "wfrewrite"),
                "run",
                str(wdl),
                "-i",
                str(inputs),
                "--executor",
                "podman",
                "--dir",
                str(work / "wfrewrite"),
            ],
            env=env,
        )

    def miniwdl() -> tuple[float, int]:
        return timed(
            [
                str(BIN / "miniwdl"),
                "run",
                str(wdl),
                "-i",
                str(inputs),
                "--cfg",
                MINIWDL_CFG,
                "--dir",
                str(work / "miniwdl"),
            ],
            env=env,
        )

    modes = {"bare podman": bare, "wfrewrite": wfrewrite, "miniwdl": miniwdl}
    side_by_side(modes, a.rounds, a.tasks, a.jobs, f"{a.tasks} trivial tasks in {a.image}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
