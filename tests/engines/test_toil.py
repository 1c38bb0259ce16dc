"""Toil drives wfrewrite: `toil-wdl-runner --no-appliance` runs each task in its declared image
through a wfrewrite executor, with Toil's own leader, job store and batch system (single machine,
and the test bed's real Slurm), and the results match miniwdl's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, slurm_jobs

from wfrewrite.runtime.engines.toil.worker import WorkerContext

WORKFLOW = EXAMPLES / "workflows" / "scatter_gather.wdl"
INPUTS = json.dumps({"scatter_gather.text": str(EXAMPLES / "data" / "alice.txt")})


def toil_wdl(tmp: Path, source: Path, inputs: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    return subprocess.run(
        [
            str(BIN / "toil-wdl-runner"),
            str(source),
            inputs,
            "--jobStore",
            str(tmp / "js"),
            "--outputDirectory",
            str(tmp / "out"),
            "--logLevel",
            "WARNING",
            *args,
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _slurm_or_skip() -> None:
    if subprocess.run(["sinfo", "-h"], capture_output=True, check=False).returncode != 0:
        if os.environ.get("WFREWRITE_REQUIRE_SLURM") == "1":
            pytest.fail("Slurm is required here")
        pytest.skip("no Slurm cluster")


@pytest.mark.parametrize("batch_system", ["single_machine", "slurm"])
def test_scatter_gather_no_appliance(tmp_path: Path, podman: None, batch_system: str) -> None:
    if batch_system == "slurm":
        _slurm_or_skip()
    p = toil_wdl(
        tmp_path,
        WORKFLOW,
        INPUTS,
        "--no-appliance",
        "--wfrewrite-executor",
        "podman",
        "--batchSystem",
        batch_system,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["scatter_gather.total_words"] == 57 and out["scatter_gather.chunk_count"] == 2
    report = (tmp_path / out["scatter_gather.report"]).read_text()
    assert report == "part-000.txt\t31\npart-001.txt\t26\n"
    chunks = tmp_path / out["scatter_gather.chunks"]
    assert sorted(c.name for c in chunks.iterdir()) == ["part-000.txt", "part-001.txt"]


def test_tasks_really_run_as_wfrewrite_scripts(tmp_path: Path, podman: None) -> None:
    """The task sees wfrewrite's layout, and no Toil code was injected into its command."""
    src = tmp_path / "probe.wdl"
    src.write_text("""version 1.0
task probe {
  command <<<
    pwd
    test -f /mnt/wfr/wfrewrite/manifest.json && echo "manifest-early" || echo "wfrewrite"
    grep -c "_toil[_]resource_monitor" /mnt/wfr/wfrewrite/command || true
  >>>
  output { Array[String] lines = read_lines(stdout()) }
  runtime { docker: "busybox:latest" }
}
""")
    p = toil_wdl(tmp_path, src, "{}", "--no-appliance", "--wfrewrite-executor", "podman")
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout.strip().splitlines()[-1])["probe.lines"] == [
        "/mnt/wfr/work",
        "wfrewrite",
        "0",
    ]


def test_wdl_1_2_task_variable_and_retries_through_toil(tmp_path: Path, podman: None) -> None:
    """What Toil 9.6.0's own WDL interpreter leaves out, added by the hook: ``task.*`` in the
    command and the outputs, and ``max_retries`` within the job with ``task.attempt`` counted."""
    src = tmp_path / "retry.wdl"
    src.write_text("""version 1.2
task retry {
  command <<<
    echo "~{task.name} in ~{task.container}, attempt ~{task.attempt}"
    test ~{task.attempt} -eq 2 || exit 3
  >>>
  output {
    String said = read_string(stdout())
    Int rc = task.return_code
    Int attempt = task.attempt
  }
  requirements { container: "busybox:latest"  max_retries: 2 }
}
""")
    p = toil_wdl(
        tmp_path, src, "{}", "--no-appliance", "--wfrewrite-executor", "podman", "--retryCount", "0"
    )
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == {
        "retry.said": "retry in busybox:latest, attempt 2",
        "retry.rc": 0,
        "retry.attempt": 2,
    }


def test_task_failure_surfaces_through_toil(tmp_path: Path, podman: None) -> None:
    p = toil_wdl(
        tmp_path, EXAMPLES / "fail_on_purpose.wdl", "{}", "--no-appliance", "--retryCount", "0"
    )
    assert p.returncode != 0
    text = p.stdout + p.stderr
    assert "fail_on_purpose" in text and "reference genome is missing" in text


def test_version_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    import toil.version

    monkeypatch.setattr(toil.version, "baseVersion", "9.0.0")
    monkeypatch.delenv("WFREWRITE_ANY_TOIL", raising=False)
    with pytest.raises(RuntimeError, match=r"supports Toil 9\.6\.0, found 9\.0\.0"):
        WorkerContext({}).__enter__()


def test_cancelled_slurm_job_is_retried_by_toil(tmp_path: Path) -> None:
    """A task's Slurm job that vanishes (scancel) becomes a task failure, which Toil retries."""
    import time

    _slurm_or_skip()
    name = f"flaky{os.getpid()}"
    src = tmp_path / "flaky.wdl"
    src.write_text(
        f"version 1.0\ntask {name} {{\n  command <<< sleep 8; echo done >>>\n"
        "  output { String said = read_string(stdout()) }\n}\n"
    )
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    proc = subprocess.Popen(
        [
            str(BIN / "toil-wdl-runner"),
            str(src),
            "{}",
            "--jobStore",
            str(tmp_path / "js"),
            "--outputDirectory",
            str(tmp_path / "out"),
            "--no-appliance",
            "--wfrewrite-executor",
            "slurm",
            "--retryCount",
            "1",
            "--logLevel",
            "INFO",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    cancelled = False
    while time.monotonic() < deadline and not cancelled:
        ids = slurm_jobs(name)
        if ids:
            subprocess.run(["scancel", *ids], check=True)
            cancelled = True
        time.sleep(0.2)
    out, err = proc.communicate(timeout=600)
    assert cancelled, "the task's Slurm job never appeared"
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])[f"{name}.said"] == "done"
    assert "Slurm job" in err and "CANCELLED" in err


CWL_WORKFLOW = EXAMPLES / "workflows" / "cwl" / "scatter_gather.cwl"
CWL_JOB = EXAMPLES / "workflows" / "cwl" / "scatter_gather.job.yml"


def cwl_summary(out: dict) -> dict:  # type: ignore[type-arg]
    return {
        "total": out["total_words"],
        "n": out["chunk_count"],
        "report": out["report"]["checksum"],
        "chunks": sorted((f["basename"], f["checksum"]) for f in out["chunks"]["listing"]),
    }


@pytest.fixture(scope="module")
def cwltool_reference(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """cwltool's own podman runner (the test bed's shim drops --userns=keep-id) on the workflow."""
    from conftest import need_podman

    need_podman()
    tmp = tmp_path_factory.mktemp("cwltool")
    env = dict(os.environ, PATH=f"/usr/local/libexec/testbed-podman:{BIN}:{os.environ['PATH']}")
    p = subprocess.run(
        [
            str(BIN / "cwltool"),
            "--podman",
            "--outdir",
            str(tmp / "out"),
            str(CWL_WORKFLOW),
            str(CWL_JOB),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return cwl_summary(json.loads(p.stdout))


@pytest.mark.parametrize("batch_system", ["single_machine", "slurm"])
def test_cwl_scatter_gather_no_appliance(
    tmp_path: Path, batch_system: str, cwltool_reference: dict
) -> None:  # type: ignore[type-arg]
    if batch_system == "slurm":
        _slurm_or_skip()
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    p = subprocess.run(
        [
            str(BIN / "toil-cwl-runner"),
            "--no-appliance",
            "--wfrewrite-executor",
            "podman",
            "--batchSystem",
            batch_system,
            "--jobStore",
            str(tmp_path / "js"),
            "--outdir",
            str(tmp_path / "out"),
            "--logLevel",
            "WARNING",
            str(CWL_WORKFLOW),
            str(CWL_JOB),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert cwl_summary(json.loads(p.stdout)) == cwltool_reference


def test_cwl_runner_matches_cwltool_on_the_workflow(
    tmp_path: Path, cwltool_reference: dict
) -> None:  # type: ignore[type-arg]
    p = subprocess.run(
        [
            str(BIN / "wfrewrite-cwl-runner"),
            "--executor",
            "podman",
            "--outdir",
            str(tmp_path / "out"),
            str(CWL_WORKFLOW),
            str(CWL_JOB),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert cwl_summary(json.loads(p.stdout)) == cwltool_reference
