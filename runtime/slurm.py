"""The Slurm executor: one `sbatch` job per task, running the task's image (or the bare script).

    ex = SlurmExecutor(options, inner="podman")
    plan = ex.prepare(plan, "/shared/runs/t1")    # as the inner executor prepares it
    ex.run(plan, "/shared/runs/t1")
        # writes wfrewrite/slurm-job.sh:   #!/bin/sh
        #                                  exec /usr/bin/podman run --rm ... busybox:latest /mnt/wfr/...
        # then: sbatch --wait --parsable -J wfr-hello -c 2 --mem 1024M -t 60 -D ... slurm-job.sh

`sbatch --wait` blocks until the job ends (no polling) and exits with the job's code; the
manifest, not that code, says what happened. A job that ends without a manifest (cancelled,
timed out, out of memory, node lost) is reported with its Slurm state, so the caller (miniwdl's
retries, Toil's) can decide. Ctrl-C or a terminating engine cancels the job (`scancel`). The
task's directory must be on a filesystem the nodes share (here: one node).
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable

from wfrewrite.compiler.diagnostics import TaskFailed, WfError
from wfrewrite.compiler.emit import q
from wfrewrite.compiler.plan import TaskPlan

from .executors import (
    ContainerExecutor,
    Executor,
    LocalExecutor,
    Options,
    RunResult,
    _open_up,
    _wait,
    host_meta,
    write_script,
)

log = logging.getLogger("wfrewrite.executor.slurm")


class SlurmExecutor(Executor):
    name = "slurm"

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        if not shutil.which("sbatch"):
            raise WfError(
                "executor slurm: 'sbatch' is not on PATH (see ../shared/testbed/slurm-setup.sh)"
            )
        inner = self.options.slurm_container
        self.inner: Executor = (
            LocalExecutor(options)
            if inner in ("none", "local")
            else ContainerExecutor(inner, options)
        )

    def container_root(self, host_root: str) -> str:
        return self.inner.container_root(host_root)

    def prepare(self, plan: TaskPlan, host_root: str) -> TaskPlan:
        return self.inner.prepare(plan, host_root)

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        return self.inner.allowed_outside(plan)

    def job_argv(self, plan: TaskPlan, host_root: str, script: str) -> list[str]:
        """What the job runs on the node: the container, or the script with the node's sh."""
        if isinstance(self.inner, ContainerExecutor):
            return self.inner.command(plan, host_root, f"wfr-{os.urandom(6).hex()}")
        return ["/bin/sh", script]

    def sbatch_argv(self, plan: TaskPlan, host_root: str, job_file: str) -> list[str]:
        r = plan.resources
        argv = [
            "sbatch",
            "--wait",
            "--parsable",
            "-J",
            f"wfr-{plan.name}"[:64],
            "-D",
            host_root,
            "-o",
            os.path.join(host_meta(host_root), "slurm.log"),
        ]
        if r.cpu:
            argv += ["-c", str(max(1, math.ceil(r.cpu)))]
        if r.memory:
            argv += ["--mem", f"{max(1, math.ceil(r.memory / (1 << 20)))}M"]
        if r.time_limit:
            argv += ["-t", str(max(1, math.ceil(r.time_limit / 60)))]
        return [*argv, job_file]

    def run(
        self, plan: TaskPlan, host_root: str, *, terminating: Callable[[], bool] | None = None
    ) -> RunResult:
        script = write_script(plan, host_root)
        if self.options.user:
            _open_up(host_root)
        job_file = os.path.join(host_meta(host_root), "slurm-job.sh")
        with open(job_file, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n# wfrewrite: the task's container (or script), as one Slurm job\n")
            f.write("exec " + " ".join(q(a) for a in self.job_argv(plan, host_root, script)) + "\n")
        argv = self.sbatch_argv(plan, host_root, job_file)
        log.debug("%s", " ".join(argv))
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        job_id: list[str] = []

        def read_id() -> None:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line:
                job_id.append(line.split(";")[0])

        reader = threading.Thread(target=read_id, daemon=True)
        reader.start()

        def cancel() -> None:
            reader.join(timeout=10)
            if job_id:
                subprocess.run(["scancel", job_id[0]], check=False, capture_output=True)

        code = _wait(proc, terminating, cancel)
        reader.join(timeout=10)
        err = proc.stderr.read() if proc.stderr else ""
        jid = job_id[0] if job_id else "?"
        log.info("slurm job %s exited %s", jid, code)
        log_path = os.path.join(host_meta(host_root), "slurm.log")
        if not job_id:
            raise TaskFailed(
                f"sbatch refused the job for task {plan.name}: {err.strip() or f'exit {code}'}"
            )
        try:
            result = self.finish(plan, host_root, code, log_path)
        except TaskFailed as exn:
            state = job_state(jid)
            raise TaskFailed(
                f"Slurm job {jid} ({state}) ended before the script finished: {exn.message}"
            ) from None
        if result.manifest is not None and result.manifest.status == "terminated":
            raise TaskFailed(
                f"Slurm job {jid} ({job_state(jid)}) stopped the script: {result.manifest.message}"
            )
        return result

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        return self.inner.why_no_manifest(plan, code, log_path)


def job_state(job_id: str) -> str:
    """The job's state as Slurm remembers it (COMPLETED, CANCELLED, TIMEOUT, OUT_OF_MEMORY...)."""
    p = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=False
    )
    m = re.search(r"JobState=(\S+)", p.stdout)
    reason = re.search(r"Reason=(\S+)", p.stdout)
    if not m:
        return "state unknown"
    return m.group(1) + (f", {reason.group(1)}" if reason and reason.group(1) != "None" else "")
