"""Toil's leader mode on the platforms it exists for: `toil-wdl-runner` and `toil-cwl-runner`
`--no-appliance` run the example scatter/gather workflow, and a 24-way scatter, with every task
a Kubernetes Job on the test bed's real cluster (or a TES task on its real Funnel), Toil's leader
and job store on this machine; the outputs are the workflow's, and nothing of the run is left
on the platform afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, ObjectStores

from wfrewrite.runtime.job import LABEL_RUN, label_value, run_label_of

S3 = "http://127.0.0.1:8333"

SCATTER = """version 1.1
workflow wide {
  scatter (i in range(24)) {
    call square { input: n = i }
  }
  output { Int total = length(square.out) }
}
task square {
  input { Int n }
  command <<< echo $(( ~{n} * ~{n} )) > out.txt >>>
  output { File out = "out.txt" }
  runtime { docker: "busybox:latest"  cpu: 0.1  memory: "32 MiB" }
}
"""


@dataclass
class Platform:
    args: tuple[str, ...]
    left: Callable[[str], list[str]]  # what of the run labelled so is still on the platform


@pytest.fixture(params=[pytest.param("kubernetes", marks=pytest.mark.kubernetes), "tes"])
def platform(request: pytest.FixtureRequest, objstore: ObjectStores) -> Iterator[Platform]:
    prefix = f"toil-{uuid.uuid4().hex[:8]}"
    if request.param == "tes":
        tes = request.getfixturevalue("funnel")
        s3 = objstore.make_bucket("wfr-tes")

        def unfinished(run: str) -> list[str]:
            q = f"tag_key={LABEL_RUN}&tag_value={label_value(run)}&view=MINIMAL"
            with urllib.request.urlopen(f"{tes}/ga4gh/tes/v1/tasks?{q}") as r:
                tasks = json.load(r).get("tasks") or []
            return [t["id"] for t in tasks if t["state"] in ("QUEUED", "INITIALIZING", "RUNNING")]

        store = ("--wfrewrite-store", f"s3://wfr-tes/{prefix}", "--wfrewrite-s3-endpoint", S3)
        yield Platform(
            ("--wfrewrite-executor", "tes", "--wfrewrite-tes-url", tes, *store), unfinished
        )
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="wfr-tes", Prefix=prefix):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket="wfr-tes", Key=obj["Key"])
    if request.param == "kubernetes":
        kubeconfig = request.getfixturevalue("kubernetes")
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        api = client.ApiClient(cfg)
        batch, core = client.BatchV1Api(api), client.CoreV1Api(api)

        def left(run: str) -> list[str]:
            sel = f"{LABEL_RUN}={label_value(run)}"
            jobs = batch.list_namespaced_job("default", label_selector=sel).items
            pods = core.list_namespaced_pod("default", label_selector=sel).items
            return [o.metadata.name for o in [*jobs, *pods]]

        args = ("--wfrewrite-executor", "kubernetes", "--wfrewrite-kubeconfig", kubeconfig,
                "--wfrewrite-k8s-host-network")  # fmt: skip
        yield Platform((*args, "--wfrewrite-store", f"{objstore.http}/wfr-k8s/{prefix}/"), left)
        shutil.rmtree(objstore.www / "wfr-k8s" / prefix, ignore_errors=True)


def toil_argv(runner: str, tmp: Path, *args: str) -> list[str]:
    return [str(BIN / runner), "--no-appliance", "--jobStore", str(tmp / "js"), "--logLevel",
            "INFO", *args]  # fmt: skip


def env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")


def toil(runner: str, tmp: Path, *args: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    job_store = tmp / "js"
    p = subprocess.run(
        toil_argv(runner, tmp, "--retryCount", "0", *args),
        cwd=tmp, env=env(), capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-4000:]
    return json.loads(p.stdout), run_label_of(str(job_store))


def test_wdl_scatter_gather(platform: Platform, tmp_path: Path) -> None:
    wf = EXAMPLES / "workflows"
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"scatter_gather.text": str(EXAMPLES / "data" / "alice.txt")}))
    out, run = toil(
        "toil-wdl-runner", tmp_path, str(wf / "scatter_gather.wdl"), str(inputs),
        "--outputDirectory", str(tmp_path / "out"),
        *platform.args,
    )  # fmt: skip
    assert out["scatter_gather.total_words"] == 57
    assert out["scatter_gather.chunk_count"] == 2
    report = Path(out["scatter_gather.report"]).read_text()
    assert report == "part-000.txt\t31\npart-001.txt\t26\n"
    assert platform.left(run) == []


def test_cwl_scatter_gather(platform: Platform, tmp_path: Path) -> None:
    wf = EXAMPLES / "workflows" / "cwl"
    out, run = toil(
        "toil-cwl-runner", tmp_path, "--outdir", str(tmp_path / "out"), *platform.args,
        str(wf / "scatter_gather.cwl"), str(wf / "scatter_gather.job.yml"),
    )  # fmt: skip
    assert (out["total_words"], out["chunk_count"]) == (57, 2)
    assert Path(out["report"]["path"]).read_text() == "part-000.txt\t31\npart-001.txt\t26\n"
    assert platform.left(run) == []


def test_a_24_way_scatter(platform: Platform, tmp_path: Path) -> None:
    src = tmp_path / "wide.wdl"
    src.write_text(SCATTER)
    out, run = toil(
        "toil-wdl-runner", tmp_path, str(src), "{}", "--outputDirectory", str(tmp_path / "out"),
        *platform.args,
    )  # fmt: skip
    assert out == {"wide.total": 24}
    assert platform.left(run) == []


FAILS = """version 1.0
workflow w {
  call fails
}
task fails {
  command <<< echo 'the reason it failed' >&2; exit 3 >>>
  runtime { docker: "busybox:latest" }
}
"""

SLEEPS = """version 1.0
workflow w {
  call sleeps
}
task sleeps {
  command <<< sleep 300 >>>
  runtime { docker: "busybox:latest" }
}
"""


def test_a_failing_task_surfaces_through_toil_and_is_retried(
    platform: Platform, tmp_path: Path
) -> None:
    src = tmp_path / "fails.wdl"
    src.write_text(FAILS)
    p = subprocess.run(
        toil_argv("toil-wdl-runner", tmp_path, str(src), "{}", "--retryCount", "1",
                  *platform.args),
        cwd=tmp_path, env=env(), capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert p.returncode != 0
    err = p.stderr
    assert "task fails" in err and "exit 3" in err and "the reason it failed" in err, err[-4000:]
    assert "reducing the remaining try count" in err, "Toil retried the job"
    assert platform.left(run_label_of(str(tmp_path / "js"))) == []


def test_ctrl_c_leaves_nothing_running(platform: Platform, tmp_path: Path) -> None:
    src = tmp_path / "sleeps.wdl"
    src.write_text(SLEEPS)
    run = run_label_of(str(tmp_path / "js"))
    proc = subprocess.Popen(
        toil_argv("toil-wdl-runner", tmp_path, str(src), "{}", *platform.args),
        cwd=tmp_path, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not platform.left(run) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert platform.left(run), "the task never started"
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        deadline = time.monotonic() + 60
        while platform.left(run) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert platform.left(run) == [], "the task outlived Toil's Ctrl-C"
    finally:
        if proc.poll() is None:
            proc.kill()
