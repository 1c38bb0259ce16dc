"""Toil's leader mode: `toil-wdl-runner --no-appliance --wfrewrite-executor slurm|tes|kubernetes`
runs Toil's leader and jobs here while each task runs remotely in its own image; a task bigger
than the leader is admitted (its requirements go to the platform); batch systems that would
nest the task in Toil's appliance are refused by name; `auto` never falls back to running a task
on the host."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import BIN, need_podman, need_slurm

BIG = """version 1.0
task big {
  command <<< nproc >>>
  output { Int cpus = read_int(stdout()) }
  runtime { docker: "busybox:latest"  cpu: 2  memory: "1 GiB" }
}
"""


def toil(tmp: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    src = tmp / "big.wdl"
    src.write_text(BIG)
    env = dict(os.environ, PATH=path or f"{BIN}:{os.environ['PATH']}")
    return subprocess.run(
        [str(BIN / "toil-wdl-runner"), str(src), "{}", "--no-appliance", "--jobStore",
         str(tmp / "js"), "--outputDirectory", str(tmp / "out"), "--logLevel", "ERROR",
         "--retryCount", "0", *args],
        cwd=tmp, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def test_a_task_bigger_than_the_leader_runs_on_slurm(tmp_path: Path) -> None:
    """With --maxCores 1 Toil's own single-machine batch system refuses a 2-cpu task; the
    leader mode admits it and Slurm runs it with its 2 cpus."""
    need_slurm()
    need_podman()
    p = toil(tmp_path, "--wfrewrite-executor", "slurm", "--maxCores", "1")
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout) == {"big.cpus": 2}
    refused = toil(tmp_path, "--wfrewrite-executor", "podman", "--maxCores", "1")
    assert refused.returncode != 0 and "requesting 2.0 cores" in refused.stderr


def test_appliance_batch_systems_are_refused_by_name(tmp_path: Path) -> None:
    for batch_system in ("kubernetes", "aws_batch", "mesos"):
        p = toil(tmp_path, "--batchSystem", batch_system)
        assert p.returncode == 2, p.stderr[-2000:]
        assert f"Toil's {batch_system} batch system runs each worker in Toil's appliance" in (
            p.stderr
        )
        assert "leader mode" in p.stderr


def test_auto_never_falls_back_to_local(tmp_path: Path) -> None:
    """A worker with no container engine: the task fails by name instead of running on the
    host."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in ("/usr/bin", "/bin"):
        for f in os.listdir(d):
            if not f.startswith(("podman", "docker")) and not (bin_dir / f).exists():
                (bin_dir / f).symlink_to(os.path.join(d, f))
    p = toil(tmp_path, path=f"{BIN}:{bin_dir}")
    assert p.returncode != 0
    assert "executor auto: no container engine (podman, docker) answers here" in p.stderr
