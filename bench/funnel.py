"""bench/funnel: what a trivial task costs through the tes executor over a bare TES task on Funnel.

    bare       py-tes: create a busybox `echo hi` task, poll it (view MINIMAL on a kept-open
               connection, as the executor does: runtime/exec/tes.py next_poll) until COMPLETE
    executor   the tes executor in this process: prepare (the script, the store) and run (submit,
               wait, fetch the manifest and the output) a one-line WDL-like plan
    cli        `wfrewrite run triv.wdl --executor tes` (Python, miniwdl, the executor), against
    local      `wfrewrite run triv.wdl --executor local`, the driver's own floor

Each with a file:// store under /var/tmp and an s3:// one (SeaweedFS), sequentially, median of
``--rounds``. Usage (the test bed's Funnel and object stores running):

    python bench/funnel.py [--rounds 7] [--url http://127.0.0.1:8000]
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
from pathlib import Path

BIN = Path(sys.executable).parent
TRIV = """version 1.0
task triv {
  command <<< echo hi >>>
  output { String s = read_string(stdout()) }
  runtime { docker: "busybox:latest" }
}
"""


def bare(url: str) -> float:
    import tes

    client = tes.HTTPClient(url, timeout=10)
    task = tes.Task(executors=[tes.Executor(image="busybox:latest", command=["echo", "hi"])])
    t0 = time.perf_counter()
    task_id = client.create_task(task)
    from floor import tes_state

    from wfrewrite.runtime.exec.tes import POLL_FIRST, next_poll

    delay = POLL_FIRST
    while tes_state(url, task_id) not in ("COMPLETE", "EXECUTOR_ERROR"):
        time.sleep(delay)
        delay = next_poll(delay, time.perf_counter() - t0)
    return time.perf_counter() - t0


def executor(url: str, store: str):  # type: ignore[no-untyped-def]
    from wfrewrite.runtime.exec import select
    from wfrewrite.runtime.options import Options

    return select(
        Options(executor="tes", tes_url=url, store=store, s3_endpoint="http://127.0.0.1:8333")
    )


def in_process(ex, tmp: str) -> float:  # type: ignore[no-untyped-def]
    from wfrewrite.compiler.plan import Command, Layout, TaskPlan, check

    lay = Layout.under("/mnt/wfr")
    plan = check(
        TaskPlan(
            name="triv",
            lang="wdl",
            layout=lay,
            image="busybox:latest",
            command=Command(script="echo hi\n"),
            stdout=f"{lay.root}/stdout.txt",
            stderr=f"{lay.root}/stderr.txt",
        )
    )
    t0 = time.perf_counter()
    job = ex.prepare(plan, tempfile.mkdtemp(dir=tmp))
    result = ex.run(job)
    took = time.perf_counter() - t0
    assert result.manifest is not None and result.manifest.succeeded
    return took


def cli(tmp: str, *args: str) -> float:
    src = os.path.join(tmp, "triv.wdl")
    Path(src).write_text(TRIV)
    t0 = time.perf_counter()
    p = subprocess.run(
        [str(BIN / "wfrewrite"), "run", src, "--dir", tmp, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(p.stderr[-2000:])
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    args = ap.parse_args()
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(k, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tmp = tempfile.mkdtemp(prefix="wfr-bench-tes-")
    files = tempfile.mkdtemp(prefix="wfr-bench-store-", dir="/var/tmp")
    stores = {"file": f"file://{files}", "s3": "s3://wfr-tes/bench"}
    executors = {k: executor(args.url, s) for k, s in stores.items()}  # one per run, as a run has
    modes = {
        "bare Funnel": lambda: bare(args.url),
        **{
            f"executor ({k})": (lambda ex=ex: in_process(ex, tmp))
            for k, ex in executors.items()
        },
        "cli local": lambda: cli(tmp, "--executor", "local"),
        **{
            f"cli tes ({k})": (
                lambda s=s: cli(
                    tmp, "--executor", "tes", "--tes-url", args.url, "--store", s,
                    "--s3-endpoint", "http://127.0.0.1:8333",
                )
            )
            for k, s in stores.items()
        },
    }  # fmt: skip
    times: dict[str, list[float]] = {m: [] for m in modes}
    try:
        for name in modes:  # warm up: images, caches, boto3
            modes[name]()
        for r in range(args.rounds):
            names = list(modes)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(modes[name]())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(files, ignore_errors=True)
    floor = statistics.median(times["bare Funnel"])
    local = statistics.median(times["cli local"])
    print(f"{'mode':<20} {'median':>8} {'min':>7} {'over bare':>10}")
    for name, ts in times.items():
        med = statistics.median(ts)
        over = med - (local if name.startswith("cli tes") else 0) - floor
        extra = f"{over * 1000:+8.0f} ms" if name != "cli local" else ""
        print(f"{name:<20} {med:7.3f}s {min(ts):6.3f}s {extra:>10}")
    print("(cli tes: over bare = its median - cli local's - bare Funnel's)")


if __name__ == "__main__":
    main()
