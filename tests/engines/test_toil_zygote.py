"""Warm Toil workers: under --no-appliance each job's worker is forked from a zygote that has
Toil imported. The workflow's outputs are those of fresh workers; a job Toil kills
(--maxJobDuration) takes its forked worker and its task's container with it; nothing of the
zygote outlives the run."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from conftest import BIN, EXAMPLES, need_podman

WORKFLOW = EXAMPLES / "workflows" / "scatter_gather.wdl"
INPUTS = json.dumps({"scatter_gather.text": str(EXAMPLES / "data" / "alice.txt")})


def toil(
    tmp: Path, src: Path, inputs: str, *args: str, fork: str = "1"
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", WFREWRITE_TOIL_FORK=fork)
    return subprocess.run(
        [str(BIN / "toil-wdl-runner"), str(src), inputs, "--no-appliance",
         "--wfrewrite-executor", "podman", "--jobStore", str(tmp / f"js{fork}"),
         "--outputDirectory", str(tmp / f"out{fork}"), "--logLevel", "ERROR", *args],
        cwd=tmp, env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip


def zygotes() -> list[str]:
    p = subprocess.run(["pgrep", "-f", "engines.toil.zygote"], capture_output=True, text=True)
    return p.stdout.split()


def test_forked_workers_give_the_same_outputs(tmp_path: Path) -> None:
    need_podman()
    before, dirs = set(zygotes()), set(Path("/tmp").glob("wfr-z-*"))
    warm = toil(tmp_path, WORKFLOW, INPUTS)
    cold = toil(tmp_path, WORKFLOW, INPUTS, fork="0")
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert cold.returncode == 0, cold.stderr[-3000:]
    a, b = json.loads(warm.stdout), json.loads(cold.stdout)
    assert a["scatter_gather.total_words"] == b["scatter_gather.total_words"]
    assert (
        Path(tmp_path / a["scatter_gather.report"]).read_text()
        == Path(tmp_path / b["scatter_gather.report"]).read_text()
    )
    assert set(zygotes()) <= before, "a zygote outlived its run"
    assert set(Path("/tmp").glob("wfr-z-*")) <= dirs, "a zygote's directory was left behind"


def test_a_job_toil_kills_takes_its_worker_and_container(tmp_path: Path) -> None:
    need_podman()
    name = f"overdue{os.getpid()}"
    src = tmp_path / "overdue.wdl"
    src.write_text(
        f"version 1.0\ntask {name} {{\n  command <<< sleep 120 >>>\n"
        '  runtime { docker: "busybox:latest" }\n}\n'
    )
    t0 = time.monotonic()
    p = toil(tmp_path, src, "{}", "--maxJobDuration", "8", "--retryCount", "0")
    assert p.returncode != 0
    assert time.monotonic() - t0 < 100, "the job outran --maxJobDuration"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = subprocess.run(
            ["podman", "ps", "-a", "--format", "{{.Names}}", "--filter",
             f"label=wfrewrite/task={name}"],
            capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        if not left:
            break
        time.sleep(0.5)
    assert not left, "the killed job's container is still there"
