"""bench/scaling: the cost as the work grows. The trivial task of bench/scatter24.wdl (and .cwl)
at N = 24, 240 and 1,000, 2 at a time, against N bare `podman run`s (measured once per N):

    wdl-wfrewrite   `wfrewrite run --executor podman`
    cwl-wfrewrite   `wfrewrite-cwl-runner --parallel --executor podman`
    wdl-toil-noapp  `toil-wdl-runner --no-appliance --wfrewrite-executor podman --maxCores 2`

(the same commands as bench/engines.py's podman rows), and one task whose input is an
Array[File] of F small files (F = 100, 1,000, 10,000) through `wfrewrite run --executor local`
and `--executor podman`, against the same `xargs cat` of those files on the host and in a bare
`podman run` with their directory mounted. Per N it prints the wall time, the overhead per task
over that N's floor, (wall - floor) / N, the peak RSS of the largest process (the driver's or
Toil's leader's: GNU time) and that RSS per task, and how much the RSS grew per task since the
previous N: the overhead per task should stay flat or fall, the growth per task not rise.

    python bench/scaling.py [--sizes 24,240,1000] [--files 100,1000,10000] [--jobs 2]
                            [--systems wdl-wfrewrite,cwl-wfrewrite,wdl-toil-noapp] [--json PATH]

N = 1,000 through Toil takes about 20 minutes here; a shared machine is noisy: compare within
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import KUBECONFIG, build_rows, chosen
from floor import IMAGE, TES_URL, podman_command
from overhead import BIN, timed

SYSTEMS = "wdl-wfrewrite,cwl-wfrewrite,wdl-toil-noapp"
MANY = """version 1.0
task many {
  input {
    Array[File] files
  }
  command <<<
    xargs cat < ~{write_lines(files)} | wc -l > n.txt
  >>>
  output {
    Int n = read_int("n.txt")
  }
  runtime {
    docker: "busybox:latest"
  }
}
"""


def scatter(a: argparse.Namespace, work: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    timed([podman_command(a.jobs, a.jobs)], shell=True)  # warm up
    for n in a.sizes:
        d = work / f"n{n}"
        d.mkdir()
        size = argparse.Namespace(tasks=n, jobs=a.jobs, tes_url=TES_URL, kubeconfig=KUBECONFIG)
        rows = chosen(build_rows(size, d, "scaling")[0], ["podman"], a.systems)
        floor, *systems = rows
        fl, _ = floor.run()
        print(f"N={n}: floor {fl:.2f}s", file=sys.stderr)
        for row in systems:
            wall, rss = row.run()
            print(f"N={n}: {row.id} {wall:.2f}s", file=sys.stderr)
            out.append({"system": row.id, "name": row.name, "n": n, "floor_s": round(fl, 3),
                        "wall_s": round(wall, 3),
                        "overhead_per_task_s": round((wall - fl) / n, 4),
                        "peak_rss_mb": round(rss / 1024, 1)})  # fmt: skip
        shutil.rmtree(d, ignore_errors=True)
    return out


def many_files(a: argparse.Namespace, work: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    wdl = work / "many.wdl"
    wdl.write_text(MANY)
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    for f in a.files:
        files = work / f"files{f}"
        files.mkdir()
        paths = [str(files / f"f{i:05d}.txt") for i in range(f)]
        for p in paths:
            Path(p).write_text("x\n")
        inputs = work / f"files{f}.json"
        inputs.write_text(json.dumps({"files": paths}))
        count = f"find {files} -type f | xargs cat | wc -l > /dev/null"
        floors = {
            "local": timed([count], shell=True)[0],
            "podman": timed(["podman", "run", "--rm", "-v", f"{files}:{files}:ro", IMAGE,
                             "sh", "-c", count])[0],
        }  # fmt: skip
        for ex, fl in floors.items():
            run = work / f"run-{ex}-{f}"
            wall, rss = timed(
                [str(BIN / "wfrewrite"), "run", str(wdl), "-i", str(inputs), "--executor", ex,
                 "--dir", str(run), "-o", str(run / "out.json")],
                env=env,
            )  # fmt: skip
            got = json.loads((run / "out.json").read_text())["outputs"]
            if got.get("many.n") != f:
                raise SystemExit(f"bench/scaling: {f} files through {ex}: {got}")
            print(f"files={f} {ex}: floor {fl:.2f}s wfrewrite {wall:.2f}s", file=sys.stderr)
            out.append({"system": f"wdl-wfrewrite {ex}", "files": f, "floor_s": round(fl, 3),
                        "wall_s": round(wall, 3),
                        "overhead_per_file_s": round((wall - fl) / f, 5),
                        "peak_rss_mb": round(rss / 1024, 1)})  # fmt: skip
            shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(files, ignore_errors=True)
    return out


def curve(rows: list[dict[str, object]], unit: str) -> None:
    """One block per system: its rows by size, the RSS growth per unit since the last size."""
    key = "n" if unit == "task" else "files"
    print(f"{'system':<24} {key:>6} {'floor':>8} {'wall':>9} {'over/' + unit:>10} "
          f"{'peak RSS':>9} {'RSS/' + unit:>10} {'growth/' + unit:>12}")  # fmt: skip
    last: dict[str, tuple[int, float]] = {}
    for r in rows:
        size, rss = int(str(r[key])), float(str(r["peak_rss_mb"]))
        over = float(str(r[f"overhead_per_{unit}_s"]))
        prev = last.get(str(r["system"]))
        growth = f"{(rss - prev[1]) * 1024 / (size - prev[0]):8.1f} KB" if prev else ""
        last[str(r["system"])] = (size, rss)
        print(f"{r['system']:<24} {size:6d} {r['floor_s']:7.2f}s {r['wall_s']:8.2f}s "
              f"{over * 1000:7.2f} ms {rss:6.0f} MB {rss * 1024 / size:7.1f} KB {growth:>12}")  # fmt: skip


def ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=ints, default=[24, 240, 1000])
    ap.add_argument("--files", type=ints, default=[100, 1000, 10000], help="0 for none")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--systems", default=SYSTEMS)
    ap.add_argument("--json", metavar="PATH")
    a = ap.parse_args()
    a.files = [f for f in a.files if f > 0]
    if not shutil.which("podman"):
        raise SystemExit("bench/scaling needs podman and the test bed's images (../shared/testbed)")
    work = Path(tempfile.mkdtemp(prefix="wfr-scaling-"))
    try:
        tasks = scatter(a, work)
        files = many_files(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    order = [s.strip() for s in a.systems.split(",")]
    by_system = sorted(tasks, key=lambda r: order.index(str(r["system"])))
    print(f"\nThe trivial task at N = {', '.join(map(str, a.sizes))}, {a.jobs} at a time, "
          "against N bare `podman run`s; over/task = (wall - floor) / N")  # fmt: skip
    curve(by_system, "task")
    if files:
        print("\nOne task with an Array[File] input of F small files; floor = `xargs cat` of "
              "them on the host (local) or in a bare podman run; over/file = (wall - floor) / F")  # fmt: skip
        curve(sorted(files, key=lambda r: str(r["system"])), "file")
    if a.json:
        doc = {"jobs": a.jobs, "sizes": a.sizes, "scatter": tasks, "files": files}
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
