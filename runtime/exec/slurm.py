"""The Slurm executor: one `sbatch` job per task, running the task's image (or the bare script).

    ex = select(Options(executor="slurm", slurm_container="podman"))
    job = ex.prepare(plan, "/shared/runs/t1")    # as its inner executor (podman) prepares it
    ex.run(job)
        # writes wfrewrite/slurm-job.sh:   #!/bin/sh
        #                                  exec /usr/bin/podman run --rm ... busybox:latest /mnt/wfr/...
        # then: sbatch --wait --parsable -J wfr-hello -c 2 --mem 1024M -t 60 -D ... slurm-job.sh

The job is named after the Job (unique) and carries its labels in its comment (run, task,
driver), so that ``sweep`` and ``wfrewrite cleanup`` find what a killed driver left.
`sbatch --wait` blocks until the job ends (no polling) and exits with the job's code; the
manifest, not that code, says what happened. A job that ends without a manifest (cancelled,
timed out, out of memory, node lost) is reported with its Slurm state, so the caller (miniwdl's
retries, Toil's) can decide. Ctrl-C or a terminating engine cancels the job (`scancel`). The
task's directory must be on a filesystem the nodes share (here: one node).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import subprocess
import threading

from wfrewrite.compiler.diagnostics import TaskFailed, Unsupported, WfError
from wfrewrite.compiler.emit import q
from wfrewrite.compiler.plan import Facts, Pass, TaskPlan

from ..job import LABEL_DRIVER, LABEL_RUN, Job, RunResult, driver_alive
from ..options import Options
from ..transport import Transport
from .base import Executor, Gate, NoManifest, Terminating, reaper, wait_for
from .container import DockerExecutor, PodmanExecutor
from .local import LocalExecutor

log = logging.getLogger("wfrewrite.executor.slurm")


class SlurmExecutor(Executor):
    name = "slurm"

    def __init__(self, options: Options, transport: Transport) -> None:
        super().__init__(options, transport)
        if not shutil.which("sbatch"):
            raise WfError(
                "executor slurm: 'sbatch' is not on PATH (see ../shared/testbed/slurm-setup.sh)"
            )
        inner = {"podman": PodmanExecutor, "docker": DockerExecutor}.get(
            options.slurm_container, LocalExecutor
        )
        self.inner: Executor = inner(options, transport)
        self.isolated = self.inner.isolated

    def container_root(self, host_root: str) -> str:
        return self.inner.container_root(host_root)

    def report(self, plan: TaskPlan, unsupported: Unsupported) -> None:
        self.inner.report(plan, unsupported)

    def gather(self, plan: TaskPlan) -> Facts:
        return self.inner.gather(plan)

    def passes(self) -> list[Pass]:
        return self.inner.passes()

    def link_mode(self) -> str:
        return self.inner.link_mode()

    def allowed_outside(self, plan: TaskPlan) -> tuple[str, ...]:
        return self.inner.allowed_outside(plan)

    def why_no_manifest(self, plan: TaskPlan, code: int, log_path: str) -> str:
        return self.inner.why_no_manifest(plan, code, log_path)

    def sbatch_argv(self, job: Job, job_file: str) -> list[str]:
        plan, host_root = job.plan, job.host_root
        r = plan.resources
        argv = [
            "sbatch",
            "--wait",
            "--parsable",
            "-J",
            job.name,
            "--comment",
            " ".join(f"{k}={v}" for k, v in sorted(job.labels.items())),
            "-D",
            host_root,
            "-o",
            os.path.join(job.meta, "slurm.log"),
        ]
        if r.cpu:
            argv += ["-c", str(max(1, math.ceil(r.cpu)))]
        if r.memory:
            argv += ["--mem", f"{max(1, math.ceil(r.memory / (1 << 20)))}M"]
        if r.time_limit:
            argv += ["-t", str(max(1, math.ceil(r.time_limit / 60)))]
        return [*argv, job_file]

    def run(self, job: Job, *, terminating: Terminating = None, gate: Gate = None) -> RunResult:
        self.inner.write(job)
        job_file = os.path.join(job.meta, "slurm-job.sh")
        with open(job_file, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n# wfrewrite: the task's container (or script), as one Slurm job\n")
            f.write("exec " + " ".join(q(a) for a in self.inner.launch_argv(job)) + "\n")
        argv = self.sbatch_argv(job, job_file)
        log.debug("%s", " ".join(argv))
        with gate or contextlib.nullcontext():
            code, job_id, err = self.submit(job, argv, terminating)
        jid = job_id[0] if job_id else "?"
        log.info("slurm job %s exited %s", jid, code)
        log_path = os.path.join(job.meta, "slurm.log")
        if not job_id:
            raise TaskFailed(
                f"sbatch refused the job for task {job.plan.name}: {err.strip() or f'exit {code}'}"
            )
        try:
            result = self.finish(job, code, log_path)
        except NoManifest as exn:  # (an output refused is not the job's doing: as it is)
            state = job_state(jid)
            raise TaskFailed(
                f"Slurm job {jid} ({state}) ended before the script finished: {exn.message}"
            ) from None
        if result.manifest is not None and result.manifest.status == "terminated":
            raise TaskFailed(
                f"Slurm job {jid} ({job_state(jid)}) stopped the script: {result.manifest.message}"
            )
        return result

    def submit(
        self, job: Job, argv: list[str], terminating: Terminating
    ) -> tuple[int, list[str], str]:
        """Run ``sbatch --wait``: its exit code, the job's id (as a list: empty if refused),
        what sbatch said."""
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

        with reaper(self.reaper_argv(job)):  # a killed driver's job is cancelled all the same
            code = wait_for(proc, terminating, cancel)
        reader.join(timeout=10)
        return code, job_id, proc.stderr.read() if proc.stderr else ""

    def limits(self) -> dict[str, int] | None:
        """The largest node's cpus and memory (a task no node can hold fails before sbatch)."""
        p = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%c %m"], capture_output=True, text=True, check=False
        )
        nodes = []
        for line in p.stdout.splitlines():
            cpus, _, mem = line.partition(" ")
            try:
                nodes.append((int(cpus.rstrip("+")), int(mem.rstrip("+")) << 20))
            except ValueError:
                continue
        if not nodes:
            return None
        return {"cpu": max(c for c, _ in nodes), "mem_bytes": max(m for _, m in nodes)}

    def cancel(self, name: str) -> None:
        """scancel the job ``name``, and remove its container if it outlived the job here."""
        subprocess.run(["scancel", "--name", name], capture_output=True, check=False)
        self.inner.cancel(name)

    def sweep(self, run: str, *, force: bool = False) -> list[str]:
        """Jobs of the run labelled ``run`` whose driver is gone, cancelled."""
        p = subprocess.run(
            ["squeue", "-h", "-o", "%j|%k"], capture_output=True, text=True, check=False
        )
        names = []
        for line in p.stdout.splitlines():
            name, _, comment = line.partition("|")
            labels = dict(w.partition("=")[::2] for w in comment.split())
            alive = driver_alive(labels.get(LABEL_DRIVER, ""))
            if labels.get(LABEL_RUN) == run and (force or not alive):
                self.cancel(name)
                names.append(name)
        return names + self.inner.sweep(run, force=force)


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
