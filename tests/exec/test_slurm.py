"""The Slurm executor against the test bed's real single-node cluster (slurm-setup.sh start):
jobs run the task's container (podman) or the bare script, resources reach Slurm, a cancelled
job is a task failure and never a hang, Ctrl-C cancels the job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, EXAMPLES, slurm_jobs, wfrewrite

pytestmark = pytest.mark.slurm


@pytest.fixture(autouse=True)
def slurm() -> None:
    ok = (
        shutil.which("sbatch")
        and subprocess.run(["sinfo", "-h"], capture_output=True, check=False).returncode == 0
    )
    if not ok:
        if os.environ.get("WFREWRITE_REQUIRE_SLURM") == "1":
            pytest.fail("Slurm is required here (../shared/testbed/slurm-setup.sh start)")
        pytest.skip("no Slurm cluster (../shared/testbed/slurm-setup.sh start)")


def task(tmp: Path, body: str) -> Path:
    src = tmp / "t.wdl"
    src.write_text("version 1.0\n" + body + "\n")
    return src


def test_container_job(tmp_path: Path, podman: None) -> None:
    r = wfrewrite(
        "run",
        str(EXAMPLES / "split_dir.wdl"),
        "-i",
        json.dumps({"split_dir.text": str(EXAMPLES / "data" / "hamlet.txt")}),
        "--executor",
        "slurm",
        "--dir",
        str(tmp_path),
    )
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["split_dir.summary"]["chunks"] == 3
    job = (Path(r.json["dir"]) / "wfrewrite" / "slurm-job.sh").read_text()
    assert "podman run" in job and "debian:bookworm-slim" in job


def test_resources_reach_slurm(tmp_path: Path) -> None:
    src = task(
        tmp_path,
        """task res {
  command <<< echo "$SLURM_CPUS_PER_TASK $SLURM_MEM_PER_NODE" >>>
  output { String v = read_string(stdout()) }
  runtime { cpu: 2  memory: "300 MiB" }
}""",
    )
    r = wfrewrite(
        "run",
        str(src),
        "--executor",
        "slurm",
        "--slurm-container",
        "none",
        "--dir",
        str(tmp_path / "r"),
    )
    assert r.rc == 0, r.stderr
    assert r.json["outputs"]["res.v"] == "2 300"


def test_failure_through_slurm(tmp_path: Path, podman: None) -> None:
    r = wfrewrite(
        "run", str(EXAMPLES / "fail_on_purpose.wdl"), "--executor", "slurm", "--dir", str(tmp_path)
    )
    assert r.rc == 1
    assert "the command exited with 3" in r.stderr and "reference genome is missing" in r.stderr


def _job_ids(name: str) -> list[str]:
    return slurm_jobs(name)


def _wait_for_job(name: str, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ids = _job_ids(name)
        if ids:
            return ids
        time.sleep(0.2)
    return []


def _start_sleeper(tmp_path: Path, name: str) -> subprocess.Popen[str]:
    """`wfrewrite run` of a task that sleeps 5 minutes, as a Slurm job named wfr-NAME."""
    src = task(tmp_path, f"task {name} {{\n  command <<< sleep 300 >>>\n}}")
    return subprocess.Popen(
        [
            str(BIN / "wfrewrite"),
            "run",
            str(src),
            "--executor",
            "slurm",
            "--slurm-container",
            "none",
            "--dir",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cancelled_job_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    name = f"sleeper{os.getpid()}"
    proc = _start_sleeper(tmp_path, name)
    ids = _wait_for_job(name)
    assert ids, "the job never appeared in squeue"
    subprocess.run(["scancel", *ids], check=True)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "Slurm job" in err and "CANCELLED" in err


def test_ctrl_c_cancels_the_job(tmp_path: Path) -> None:
    name = f"interrupted{os.getpid()}"
    proc = _start_sleeper(tmp_path, name)
    assert _wait_for_job(name)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    deadline = time.monotonic() + 30
    while _job_ids(name) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _job_ids(name), "the Slurm job outlived the interrupted run"
