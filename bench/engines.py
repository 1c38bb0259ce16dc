"""bench/engines: the same 24-task scatter through every engine that can run it here, on podman,
on Funnel (TES) and on Kubernetes, each against the bare floor of its own platform.

    python bench/engines.py [--platforms podman,tes,kubernetes] [--rounds 3] [--tasks 24]
                            [--jobs 2] [--systems ID,...|all] [--json PATH]

The workflow is bench/scatter24.wdl and its CWL twin bench/scatter24.cwl (trivial tasks in
busybox:latest), every system running 2 tasks at a time. Per platform a floor and its systems,
by the ids that --systems and bench/ceilings.json name (as PLATFORM/ID, or ID for all):

    podman      floor           24 x `podman run --rm busybox ...` (bench/floor.py)
                wdl-wfrewrite   `wfrewrite run --executor podman` (miniwdl's engine)
                wdl-miniwdl     `miniwdl run` with miniwdl's own podman backend
                wdl-toil-own    `toil-wdl-runner --container singularity` (bench/standin/)
                wdl-toil-noapp  `toil-wdl-runner --no-appliance --wfrewrite-executor podman`
                cwl-wfrewrite   `wfrewrite-cwl-runner --parallel --executor podman`
                cwl-cwltool     `cwltool --parallel --podman`
                cwl-toil-own    `toil-cwl-runner --podman` (Toil's own: cwltool's podman)
                cwl-toil-noapp  `toil-cwl-runner --no-appliance --wfrewrite-executor podman`
    tes         floor           24 busybox tasks through py-tes, 2 in flight, each polled as
                                the tes executor polls (bench/floor.py)
                wdl-wfrewrite   `wfrewrite run --executor tes` (s3:// store on SeaweedFS)
                wdl-toil-noapp  Toil's leader mode: `toil-wdl-runner --no-appliance
                                --wfrewrite-executor tes`
                cwl-toil-noapp  the same through toil-cwl-runner (not by default: ~1 min a round)
    kubernetes  floor           24 bare Jobs of the executor's pod shape, 2 at a time
                wdl-wfrewrite   `wfrewrite run --executor kubernetes` (url transport, nginx)
                wdl-toil-noapp  Toil's leader mode, `--wfrewrite-executor kubernetes`
                cwl-toil-noapp  the same through toil-cwl-runner (not by default)

Toil's own WDL container path (miniwdl's Singularity backend) runs through
bench/standin/singularity, which turns `singularity exec` into `podman run --rm --network=none`
(MINIWDL__TASK_RUNTIME__COMMAND_SHELL=/bin/sh: busybox has no bash).

Each round runs every platform's systems once, in rotating order, each right after a run of its
platform's floor; a row's ratio is its wall time over that floor run's, its overhead per task
(wall - floor) / N, both the median over the rounds (the floor row: every floor run); peak
RSS is the largest process's (GNU time), the highest of the rounds. Toil's leader rows admit a task job with a token of this
machine (runtime/engines/toil/admission.py); --maxCores 2 still keeps 2 tasks in flight.
Timings on a shared machine are noisy: compare within one run; bench/check.py compares a run's
ratios with bench/ceilings.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import TES_URL, podman_command
from overhead import BIN, MINIWDL_CFG, timed

HERE = Path(__file__).resolve().parent
SHIM = "/usr/local/libexec/testbed-podman"  # drops cwltool's --userns=keep-id (test bed, as root)
KUBECONFIG = "/var/tmp/testbed/k8s/state/admin.kubeconfig"
S3_ENDPOINT = "http://127.0.0.1:8333"  # SeaweedFS, key/secret "testing"
HTTP_STORE = "http://127.0.0.1:8089"  # nginx with PUT/DELETE
BUCKET = "wfr-bench"
PLATFORMS = ("podman", "tes", "kubernetes")
FLOORS = {"podman": "bare podman (floor)", "tes": "bare TES tasks (floor)",
          "kubernetes": "bare Jobs (floor)"}  # fmt: skip
# Per platform: (language, system, title, in the default set)
SYSTEMS = {
    "podman": [
        ("WDL", "wfrewrite", "WDL wfrewrite run", True),
        ("WDL", "miniwdl", "WDL miniwdl (its podman)", True),
        ("WDL", "toil-own", "WDL toil own (singularity)", True),
        ("WDL", "toil-noapp", "WDL toil no-appliance", True),
        ("CWL", "wfrewrite", "CWL wfrewrite-cwl-runner", True),
        ("CWL", "cwltool", "CWL cwltool --podman", True),
        ("CWL", "toil-own", "CWL toil own (--podman)", True),
        ("CWL", "toil-noapp", "CWL toil no-appliance", True),
    ],
    **{
        p: [
            ("WDL", "wfrewrite", "WDL wfrewrite run", True),
            ("WDL", "toil-noapp", "WDL toil no-appliance", True),
            ("CWL", "toil-noapp", "CWL toil no-appliance", False),  # ~1 min a round
        ]
        for p in ("tes", "kubernetes")
    },
}


@dataclass
class Row:
    platform: str
    id: str
    name: str
    run: Callable[[], tuple[float, int]]
    default: bool = True
    walls: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)  # the floor run just before each wall
    rss_kib: int = 0

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.id}"


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def reachable(platform: str, tes_url: str, kubeconfig: str) -> str | None:
    """Why ``platform`` cannot be benchmarked here, or None."""
    if platform == "podman":
        return None if shutil.which("podman") else "no podman (../shared/testbed)"
    if platform == "tes":
        try:
            urllib.request.urlopen(f"{tes_url}/ga4gh/tes/v1/service-info", timeout=3).close()
        except OSError as exn:
            return f"no TES server at {tes_url} ({exn}; ../shared/testbed/funnel.sh start)"
        return None if port_open(8333) else "no SeaweedFS on :8333 (object-store.sh start)"
    if not os.path.exists(kubeconfig):
        return f"no kubeconfig {kubeconfig} (../shared/testbed/k8s.sh start)"
    m = re.search(r"server:\s*\"?https?://[^:/\"]+:(\d+)", Path(kubeconfig).read_text())
    if m and not port_open(int(m.group(1))):
        return f"the API server of {kubeconfig} does not answer (k8s.sh start)"
    return None if port_open(8089) else "no nginx store on :8089 (object-store.sh start)"


def s3_client():  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("s3", endpoint_url=S3_ENDPOINT)


def make_bucket() -> None:
    s3 = s3_client()
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.ClientError as exn:
        if exn.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def clean_stores(prefix: str, platforms: list[str]) -> None:
    """Remove what the run left under its own prefix in the bucket and on nginx."""
    if "tes" in platforms:
        s3 = s3_client()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    if "kubernetes" in platforms:
        req = urllib.request.Request(f"{HTTP_STORE}/{BUCKET}/{prefix}/", method="DELETE")
        try:
            urllib.request.urlopen(req, timeout=30).close()
        except urllib.error.HTTPError as exn:
            if exn.code != 404:
                raise


def build_rows(
    a: argparse.Namespace, work: Path, prefix: str
) -> tuple[list[Row], dict[str, Callable[[], tuple[float, int]]]]:
    """Every row there is, and every platform's warm-up (its floor with J tasks)."""
    wdl, cwl = str(HERE / "scatter24.wdl"), str(HERE / "scatter24.cwl")
    wdl_in, cwl_in = work / "wdl.json", work / "cwl.json"
    wdl_in.write_text(json.dumps({"scatter24.n": a.tasks}))
    cwl_in.write_text(json.dumps({"i": list(range(a.tasks))}))
    env = dict(
        os.environ,
        PATH=f"{SHIM}:{BIN}:{os.environ['PATH']}",
        KUBECONFIG=a.kubeconfig,
        MINIWDL__SCHEDULER__TASK_CONCURRENCY=str(a.jobs),
        MINIWDL__TASK_RUNTIME__COMMAND_SHELL="/bin/sh",
    )
    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        env.setdefault(k, v)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    standin_env = dict(env, PATH=f"{HERE / 'standin'}:{env['PATH']}")
    n = [0]

    def fresh(name: str) -> str:
        n[0] += 1
        d = work / f"{name}-{n[0]}"
        d.mkdir()
        return str(d)

    def store(platform: str) -> list[str]:
        n[0] += 1
        if platform == "tes":
            return ["--store", f"s3://{BUCKET}/{prefix}/{n[0]}", "--s3-endpoint", S3_ENDPOINT]
        return ["--transport", "url", "--store", f"{HTTP_STORE}/{BUCKET}/{prefix}/{n[0]}/"]

    k8s = ["--executor", "kubernetes", "--k8s-host-network", "--kubeconfig", a.kubeconfig]
    executor = {
        "podman": ["--executor", "podman"],
        "tes": ["--executor", "tes", "--tes-url", a.tes_url],
        "kubernetes": k8s,
    }

    def remote(p: str) -> list[str]:
        return [*executor[p], *(store(p) if p != "podman" else [])]

    def toil_opts(p: str) -> list[str]:
        """``--executor X --tes-url U ...`` as Toil's ``--wfrewrite-executor X ...``."""
        opts = ["--wfrewrite-" + w[2:] if w.startswith("--") else w for w in remote(p)]
        return ["--no-appliance", *opts, *toil, "--jobStore", fresh("js") + "/js"]

    toil = ["--maxCores", str(a.jobs), "--logLevel", "ERROR"]
    wdl_run = {
        "wfrewrite": lambda p: [BIN / "wfrewrite", "run", wdl, "-i", wdl_in, *remote(p),
                                "--dir", fresh("wf")],
        "miniwdl": lambda p: [BIN / "miniwdl", "run", wdl, "-i", wdl_in, "--cfg", MINIWDL_CFG,
                              "--dir", fresh("mw")],
        "toil-own": lambda p: [BIN / "toil-wdl-runner", wdl, wdl_in, "--container",
                               "singularity", *toil, "--jobStore", fresh("js") + "/js",
                               "--outputDirectory", fresh("out")],
        "toil-noapp": lambda p: [BIN / "toil-wdl-runner", wdl, wdl_in, *toil_opts(p),
                                 "--outputDirectory", fresh("out")],
    }  # fmt: skip
    cwl_run = {
        "wfrewrite": lambda p: [BIN / "wfrewrite-cwl-runner", "--parallel", *remote(p),
                                "--quiet", "--outdir", fresh("wc"), cwl, cwl_in],
        "cwltool": lambda p: [BIN / "cwltool", "--parallel", "--podman", "--quiet",
                              "--outdir", fresh("ct"), cwl, cwl_in],
        "toil-own": lambda p: [BIN / "toil-cwl-runner", "--podman", *toil,
                               "--jobStore", fresh("js") + "/js", "--outdir", fresh("out"),
                               cwl, cwl_in],
        "toil-noapp": lambda p: [BIN / "toil-cwl-runner", *toil_opts(p),
                                 "--outdir", fresh("out"), cwl, cwl_in],
    }  # fmt: skip

    def system(p: str, lang: str, name: str) -> Callable[[], tuple[float, int]]:
        argv = (wdl_run if lang == "WDL" else cwl_run)[name]
        # Toil's own WDL container path: miniwdl's Singularity backend, through a stand-in
        # that runs `singularity exec` as `podman run` (bench/standin/singularity)
        e = standin_env if (lang, name) == ("WDL", "toil-own") else env
        return lambda: timed([str(w) for w in argv(p)], env=e)

    def floor(p: str, tasks: int = a.tasks) -> Callable[[], tuple[float, int]]:
        if p == "podman":
            return lambda: timed([podman_command(tasks, a.jobs)], shell=True)
        argv = [sys.executable, str(HERE / "floor.py"), p, "--tasks", str(tasks),
                "--jobs", str(a.jobs), "--tes-url", a.tes_url]  # fmt: skip
        return lambda: timed(argv, env=env)

    rows = []
    for p in PLATFORMS:
        rows.append(Row(p, "floor", FLOORS[p], floor(p)))
        for lang, name, title, default in SYSTEMS[p]:
            rows.append(Row(p, f"{lang.lower()}-{name}", title, system(p, lang, name), default))
    return rows, {p: floor(p, a.jobs) for p in PLATFORMS}


def chosen(rows: list[Row], platforms: list[str], systems: str | None) -> list[Row]:
    """The rows to run: the platforms' floors and the default systems, or those ``systems``
    names (ID for every platform, PLATFORM/ID for one, or ``all``)."""
    rows = [r for r in rows if r.platform in platforms]
    if systems is None:
        return [r for r in rows if r.default or r.id == "floor"]
    if systems == "all":
        return rows
    want = {s.strip() for s in systems.split(",") if s.strip()}
    known = {r.id for r in rows} | {r.key for r in rows}
    if want - known:
        raise SystemExit(
            f"bench/engines: unknown systems {sorted(want - known)}; known: {sorted(known)}"
        )
    return [r for r in rows if r.id == "floor" or r.id in want or r.key in want]


def run_rounds(rows: list[Row], rounds: int, warm_up: dict[str, Callable[[], object]]) -> None:
    """Every system once a round, platform by platform, in rotating order within each, each
    right after a run of its platform's floor (the floor row has them all): a ratio compares
    runs a few seconds apart, not the ends of a round that drifted."""
    by_platform: dict[str, list[Row]] = {}
    for r in rows:
        by_platform.setdefault(r.platform, []).append(r)
    for p in by_platform:  # images, caches, the platform's first task
        warm_up[p]()
    for k in range(rounds):
        for p, prow in by_platform.items():
            floor = next(r for r in prow if r.id == "floor")
            systems = [r for r in prow if r is not floor]
            for row in systems[k % len(systems) :] + systems[: k % len(systems)]:
                for run in (floor, row):
                    wall, rss = run.run()
                    run.walls.append(wall)
                    run.rss_kib = max(run.rss_kib, rss)
                row.floors.append(floor.walls[-1])
            print(
                f"round {k + 1} {p}: "
                + "  ".join(
                    f"{r.key} {r.walls[-1]:.2f}s (floor {r.floors[-1]:.2f}s)" for r in systems
                ),
                file=sys.stderr,
            )


def results(rows: list[Row], tasks: int) -> list[dict[str, object]]:
    out = []
    for r in rows:
        fl = r.floors if r.id != "floor" else r.walls
        out.append(
            {
                "system": r.name,
                "id": r.id,
                "platform": r.platform,
                "median_s": round(statistics.median(r.walls), 3),
                "ratio": round(
                    statistics.median(w / f for w, f in zip(r.walls, fl, strict=True)), 3
                ),
                "overhead_per_task_s": round(
                    statistics.median((w - f) / tasks for w, f in zip(r.walls, fl, strict=True)), 4
                ),
                "peak_rss_mb": round(r.rss_kib / 1024, 1),
                "rounds": len(r.walls),
                "walls_s": [round(w, 3) for w in r.walls],
                "floor_walls_s": [round(f, 3) for f in fl],
            }
        )
    return out


def toil_ratios(rows: list[Row]) -> dict[str, float]:
    """Toil's no-appliance path over Toil's own container path, per language (podman, the
    median of the rounds' ratios)."""
    got = {r.id: r.walls for r in rows if r.platform == "podman"}
    return {
        lang: round(
            statistics.median(
                n / o for n, o in zip(got[f"{lo}-toil-noapp"], got[f"{lo}-toil-own"], strict=True)
            ),
            3,
        )
        for lang, lo in (("WDL", "wdl"), ("CWL", "cwl"))
        if f"{lo}-toil-noapp" in got and f"{lo}-toil-own" in got
    }


def report(table: list[dict[str, object]], toil: dict[str, float], a: argparse.Namespace) -> None:
    rounds = max(int(str(r["rounds"])) for r in table if r["id"] != "floor")
    print(f"\n{a.tasks} trivial tasks in busybox:latest, {a.jobs} at a time, median of {rounds} "
          f"round(s); each against a floor run just before it: ratio = wall / floor, "
          f"overhead/task = (wall - floor) / {a.tasks}")  # fmt: skip
    print(
        f"{'platform':<11} {'system':<27} {'wall':>8} {'ratio':>7} {'overhead/task':>14} "
        f"{'peak RSS':>9}"
    )
    for r in table:
        over = "" if r["id"] == "floor" else f"{float(str(r['overhead_per_task_s'])) * 1000:.0f} ms"
        print(
            f"{r['platform']:<11} {r['system']:<27} {r['median_s']:7.2f}s {r['ratio']:6.2f}x "
            f"{over:>14} {r['peak_rss_mb']:6.0f} MB"
        )
    for lang, ratio in toil.items():
        print(f"Toil no-appliance / Toil's own containers, {lang} (podman): {ratio:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--platforms", help=f"comma-separated (default: those reachable of {','.join(PLATFORMS)})"
    )
    ap.add_argument(
        "--systems",
        help="ID or PLATFORM/ID, comma-separated, or all (default: the "
        "default set); floors always run",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tes-url", default=TES_URL)
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", KUBECONFIG))
    ap.add_argument("--json", metavar="PATH", help="also write every row here")
    a = ap.parse_args()
    if a.platforms:
        platforms = [p.strip() for p in a.platforms.split(",") if p.strip()]
        if bad := [p for p in platforms if p not in PLATFORMS]:
            raise SystemExit(f"bench/engines: unknown platforms {bad}")
        for p in platforms:
            if why := reachable(p, a.tes_url, a.kubeconfig):
                raise SystemExit(f"bench/engines: {p}: {why}")
    else:
        platforms = []
        for p in PLATFORMS:
            if why := reachable(p, a.tes_url, a.kubeconfig):
                print(f"bench/engines: skipping {p}: {why}", file=sys.stderr)
            else:
                platforms.append(p)
    if "tes" in platforms:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        make_bucket()
    work = Path(tempfile.mkdtemp(prefix="wfr-engines-"))
    prefix = f"engines-{uuid.uuid4().hex[:8]}"
    try:
        every, warm_up = build_rows(a, work, prefix)
        rows = chosen(every, platforms, a.systems)
        run_rounds(rows, a.rounds, warm_up)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        clean_stores(prefix, platforms)
    table = results(rows, a.tasks)
    toil = toil_ratios(rows)
    report(table, toil, a)
    if a.json:
        doc = {
            "tasks": a.tasks,
            "jobs": a.jobs,
            "rounds": a.rounds,
            "platforms": platforms,
            "rows": table,
            "toil_no_appliance_over_own": toil,
        }
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
