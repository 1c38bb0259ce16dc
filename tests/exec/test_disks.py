"""Disks, honestly: a task that fills its disk fails naming the disk (staging_failed while its
inputs arrive, command_failed when its command fills it), never with a truncated output taken
for a result; the manifest still gets written (room is kept for it); outputs are checked against
the manifest's size and sha1 when collected. Real podman, a real tmpfs of 1 MiB as the task's
disk (mounted by the test, as root, or given to the container with --tmpfs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import need_podman

from wfrewrite.compiler import wdl
from wfrewrite.compiler.diagnostics import TaskFailed
from wfrewrite.runtime import exec as executors
from wfrewrite.runtime.options import Options

FILLS = """version 1.0
task fills {
  input { File? data }
  command <<< head -c 3000000 /dev/zero > big.bin >>>
  output { File big = "big.bin" }
  runtime { docker: "busybox:latest" }
}
"""


def plan_of(tmp: Path, ex: executors.Executor, inputs: str | None = None):  # type: ignore[no-untyped-def]
    """The task's plan, laid out where ``ex`` runs it."""
    src = tmp / "fills.wdl"
    src.write_text(FILLS)
    task, env = wdl.read_inputs(wdl.load(str(src)), None, inputs)
    return wdl.compile_wdl(task, env, root=ex.container_root(str(tmp / "task")))


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    need_podman()
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (the test bed runs as root)")
    d = tmp_path / "disk"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


def test_a_command_that_fills_its_disk_fails_naming_it(tmp_path: Path, small_disk: Path) -> None:
    ex = executors.select(Options(executor="podman"))
    job = ex.prepare(plan_of(tmp_path, ex), str(small_disk / "task"))
    result = ex.run(job)
    m = result.manifest
    assert m is not None and m.status == "command_failed", m
    assert "the disk holding /mnt/wfr/work is full" in m.message
    assert m.partial


def test_inputs_that_do_not_fit_fail_staging_naming_the_disk(tmp_path: Path, objstore) -> None:  # type: ignore[no-untyped-def]
    need_podman()
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(2_000_000))
    opts = Options(
        executor="podman",
        transport="url",
        store=f"{objstore.http}/wfr-tests/disk/",
        extra_args=("--tmpfs", "/tmp:size=1m"),
        url_retries=1,
    )
    ex = executors.select(opts)
    job = ex.prepare(plan_of(tmp_path, ex, f'{{"data": "{data}"}}'), str(tmp_path / "task"))
    m = ex.run(job).manifest
    assert m is not None and m.status == "staging_failed", m
    assert "the disk holding /tmp/wfr/work is full" in m.message


def test_an_output_changed_after_the_manifest_is_refused(tmp_path: Path) -> None:
    """The driver checks size and sha1 of what the manifest lists (here: same size, one byte
    changed behind the script's back)."""
    need_podman()
    src = tmp_path / "t.wdl"
    src.write_text(
        "version 1.0\ntask t {\n  command <<< echo hello > o.txt >>>\n"
        '  output { File o = "o.txt" }\n  runtime { docker: "busybox:latest" }\n}\n'
    )
    task, env = wdl.read_inputs(wdl.load(str(src)), None, None)
    ex = executors.select(Options(executor="podman"))
    job = ex.prepare(wdl.compile_wdl(task, env), str(tmp_path / "task"))
    ex.run(job)
    (tmp_path / "task" / "work" / "o.txt").write_text("jello\n")
    with pytest.raises(TaskFailed, match=r"has sha1 \w+, the manifest says"):
        ex.finish(job, 0, str(tmp_path / "task" / "wfrewrite" / "script.log"))
