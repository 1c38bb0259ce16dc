"""Nothing outlives its driver: a driver killed with SIGKILL (its whole process group, as Toil's
single-machine batch system kills a job) leaves no container and no Slurm job running; what a
killed driver left (made up here: a container labelled with a dead driver) is swept by
`wfrewrite cleanup` and by the next run in the same directory (WDL or CWL); a container never outlives its
task's time limit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, need_podman, need_slurm, slurm_jobs, wfrewrite

from wfrewrite.runtime.job import LABEL_DRIVER, LABEL_RUN, LABEL_TASK, run_label_of

SLEEPER = """version 1.0
task {name} {{
  command <<< echo started; sleep 300 >>>
  runtime {{ docker: "busybox:latest" }}
}}
"""


def containers(**labels: str) -> list[str]:
    argv = ["podman", "ps", "-a", "--format", "{{.Names}}"]
    for k, v in labels.items():
        argv += ["--filter", f"label={k}={v}"]
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.split()


def until(test, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.2)
    return bool(test())


def start_sleeper(tmp: Path, name: str, *args: str) -> subprocess.Popen[str]:
    src = tmp / f"{name}.wdl"
    src.write_text(SLEEPER.format(name=name))
    return subprocess.Popen(
        [str(BIN / "wfrewrite"), "run", str(src), *args, "--dir", str(tmp / "runs")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed as one below
    )


@pytest.mark.parametrize("executor", ["podman", "slurm"])
def test_a_killed_driver_leaves_nothing_running(tmp_path: Path, executor: str) -> None:
    need_podman()
    if executor == "slurm":
        need_slurm()
    name = f"killed{executor}{os.getpid()}"
    proc = start_sleeper(tmp_path, name, "--executor", executor)
    try:
        assert until(lambda: containers(**{LABEL_TASK: name}), 60), "the task never started"
        if executor == "slurm":
            assert slurm_jobs(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert until(lambda: not containers(**{LABEL_TASK: name}), 20), (
            "the task's container outlived its killed driver"
        )
        assert until(lambda: not slurm_jobs(name), 20), "the Slurm job outlived its driver"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["podman", "rm", "-f", *containers(**{LABEL_TASK: name})], check=False)


SCATTER = """version 1.0
workflow {name} {{
  scatter (i in range(3)) {{ call sleeper {{ input: i = i }} }}
}}
task sleeper {{
  input {{ Int i }}
  command <<< echo ~{{i}}; sleep 300 >>>
  runtime {{ docker: "busybox:latest" }}
}}
"""


def test_a_killed_scatter_leaves_none_of_its_containers(tmp_path: Path) -> None:
    """Tasks running at once share the driver's one reaper: all of them go with it."""
    need_podman()
    name = f"killedscatter{os.getpid()}"
    src = tmp_path / f"{name}.wdl"
    src.write_text(SCATTER.format(name=name))
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [str(BIN / "wfrewrite"), "run", str(src), "--executor", "podman", "--dir", str(runs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "MINIWDL__SCHEDULER__TASK_CONCURRENCY": "3"},
    )
    label = run_label_of(str(runs))
    try:
        assert until(lambda: len(containers(**{LABEL_RUN: label})) == 3, 60), "not all started"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert until(lambda: not containers(**{LABEL_RUN: label}), 20), (
            "a task's container outlived its killed driver"
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["podman", "rm", "-f", *containers(**{LABEL_RUN: label})], check=False)


def test_cleanup_and_the_next_run_sweep_what_a_dead_driver_left(tmp_path: Path) -> None:
    need_podman()
    runs = tmp_path / "runs"
    runs.mkdir()
    label = run_label_of(str(runs))
    dead = "vm.1.0"  # no driver has pid 1 with start time 0: a driver that is gone
    alive_name = f"wfr-alive-{os.getpid()}"

    def leftover(name: str, driver: str) -> None:
        subprocess.run(
            ["podman", "run", "-d", "--name", name, "--label", f"{LABEL_RUN}={label}",
             "--label", f"{LABEL_DRIVER}={driver}", "busybox:latest", "sleep", "300"],
            check=True, capture_output=True,
        )  # fmt: skip

    from wfrewrite.runtime.job import driver_id

    leftover(f"wfr-dead1-{os.getpid()}", dead)
    leftover(alive_name, driver_id())  # this process: alive, kept
    try:
        r = wfrewrite("cleanup", "--run", str(runs), "--executor", "podman")
        assert r.rc == 0, r.stderr
        assert f"removed wfr-dead1-{os.getpid()}" in r.stdout
        assert containers(**{LABEL_RUN: label}) == [alive_name]
        # the next run in the same directory sweeps at its start
        leftover(f"wfr-dead2-{os.getpid()}", dead)
        src = tmp_path / "quick.wdl"
        src.write_text(
            'version 1.0\ntask quick {\n  command <<< echo hi >>>\n  runtime { docker: "busybox:latest" }\n}\n'
        )
        r = wfrewrite("run", str(src), "--executor", "podman", "--dir", str(runs))
        assert r.rc == 0, r.stderr
        assert until(lambda: containers(**{LABEL_RUN: label}) == [alive_name], 20)
        # and so does the next wfrewrite-cwl-runner whose --outdir it is
        leftover(f"wfr-dead3-{os.getpid()}", dead)
        tool = tmp_path / "quick.cwl"
        tool.write_text(
            "cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n"
            "  DockerRequirement: {dockerPull: 'busybox:latest'}\n"
            "baseCommand: [echo, hi]\ninputs: []\noutputs: []\n"
        )
        p = subprocess.run(
            [str(BIN / "wfrewrite-cwl-runner"), "--executor", "podman", "--outdir", str(runs),
             str(tool)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        assert until(lambda: containers(**{LABEL_RUN: label}) == [alive_name], 20)
        r = wfrewrite("cleanup", "--run", str(runs), "--executor", "podman", "--force")
        assert f"removed {alive_name}" in r.stdout
    finally:
        subprocess.run(
            ["podman", "rm", "-f", "-t", "0", *containers(**{LABEL_RUN: label})], check=False
        )


def test_a_container_never_outlives_its_time_limit(tmp_path: Path) -> None:
    """The script's watchdog stops the command at its limit; podman's --timeout stops the
    container itself shortly after, whatever happens inside it."""
    need_podman()
    src = tmp_path / "limited.wdl"
    src.write_text(
        "version 1.2\ntask limited {\n  command <<< sleep 60 >>>\n"
        '  requirements { container: "busybox:latest" }\n  hints { max_time: "3s" }\n}\n'
    )
    from wfrewrite.compiler import wdl
    from wfrewrite.compiler.plan import Resources
    from wfrewrite.runtime import exec as executors
    from wfrewrite.runtime.options import Options

    task, inputs = wdl.read_inputs(wdl.load(str(src)), None, None)
    plan = wdl.compile_wdl(task, inputs)
    plan = plan.replace(resources=Resources(time_limit=2))
    ex = executors.select(Options(executor="podman"))
    job = ex.prepare(plan, str(tmp_path / "task"))
    argv = ex.launch_argv(job)
    assert argv[argv.index("--timeout") + 1] == "32"
    t0 = time.monotonic()
    result = ex.run(job)
    assert time.monotonic() - t0 < 30
    assert result.manifest is not None and result.manifest.status == "command_failed"
    assert "time limit of 2 s" in result.manifest.message
    assert not containers(**{LABEL_TASK: "limited"})
